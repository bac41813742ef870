"""/api/v1/users/me: the profile."""

from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_smorest import Blueprint

from app import apidoc
from app.email import preferences
from app.email.schemas import EXAMPLE, PreferencesPatchSchema, PreferencesSchema
from app.errors import Unauthorized
from app.http import API_PREFIX, BEARER
from app.passwords import PasswordIncorrect
from app.users import service
from app.users.phase import AlreadyTracking, start_tracking
from app.users.schemas import DeleteAccountSchema, PhaseSchema, UserPatchSchema, UserSchema

blp = Blueprint("users", __name__, url_prefix=f"{API_PREFIX}/users", description="The profile")


@blp.route("/me", methods=["GET"])
@jwt_required()
@blp.response(200, UserSchema)
@blp.doc(security=BEARER)
def me():
    """The signed-in user."""
    return service.to_json(current_user)


@blp.route("/me", methods=["PATCH"])
@jwt_required()
@blp.arguments(
    UserPatchSchema,
    example={"name": "Ada Lovelace", "timezone": "Europe/Berlin", "meeting_interval_days": 7},
)
@blp.response(200, UserSchema)
@blp.doc(security=BEARER)
def update_me(body):
    """Change name, notifications, timezone or meeting preferences."""
    return service.to_json(service.update_profile(current_user["_id"], body))


@blp.route("/me", methods=["DELETE"])
@jwt_required()
@blp.arguments(DeleteAccountSchema, required=False, example={"password": "my current password"})
@blp.response(204)
@blp.doc(
    security=BEARER,
    responses=apidoc.errors(PasswordIncorrect, Unauthorized, service.FreshSignInRequired),
)
def delete_me(body):
    """Delete the account and everything in it (password, or a fresh Google sign-in)."""
    service.delete_account(current_user, (body or {}).get("password"), get_jwt())


@blp.route("/me/phase", methods=["POST"])
@jwt_required()
@blp.arguments(PhaseSchema, example={"phase": "tracking"})
@blp.response(200, UserSchema)
@blp.doc(security=BEARER, responses=apidoc.errors(AlreadyTracking))
def change_phase(body):
    """Move into tracking: the first meeting, the phase email and the invitation."""
    user, _meeting = start_tracking(current_user)
    return service.to_json(user)


@blp.route("/me/notifications", methods=["GET"])
@jwt_required()
@blp.response(200, PreferencesSchema, example=EXAMPLE)
@blp.doc(
    security=BEARER,
    operationId="getNotificationPreferences",
    summary="Which email categories are on",
    description="`email_notifications: false` on the profile shows every optional category "
    "off. `account` mail is critical and always on.",
    responses=apidoc.SIGNED_IN,
)
def get_notifications():
    """Every email category and whether it is on."""
    return preferences.get(current_user["_id"])


@blp.route("/me/notifications", methods=["PATCH"])
@jwt_required()
@blp.arguments(PreferencesPatchSchema, example={"progress": False})
@blp.response(200, PreferencesSchema, example=EXAMPLE)
@blp.doc(
    security=BEARER,
    operationId="updateNotificationPreferences",
    summary="Turn optional email categories on or off",
    description="Any subset of `meeting_reminders`, `meeting_updates`, `progress`; `account` or "
    "an unknown key is 422 validation_error. Turning a category on while the profile's "
    "`email_notifications` is off switches that back on, with only what was asked on.",
    responses={**apidoc.SIGNED_IN, "413": apidoc.TOO_LARGE, "415": apidoc.UNSUPPORTED_MEDIA_TYPE},
)
def update_notifications(body):
    """Set optional categories on or off; returns every category."""
    return preferences.update(current_user["_id"], body)
