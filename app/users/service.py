"""Users: creation, profile changes, deletion, admin rights."""

from bson import ObjectId
from flask import current_app
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app import clock
from app.db import get_db
from app.email.outbox import forget_user
from app.errors import APIError, NotFound
from app.passwords import PasswordIncorrect, verify_password

DEFAULTS = {
    "phase": "goal_setting",
    "email_notifications": True,
    "email_status": "ok",
    "timezone": "UTC",
    "meeting_interval_days": 7,
    "meeting_duration_minutes": 30,
    "token_version": 0,
    "is_admin": False,
}
# Collections whose documents belong to one user and go with the account.
OWNED_COLLECTIONS = ("goals", "meetings", "chat_messages", "refresh_tokens")


class EmailTaken(APIError):
    status, code, message = 409, "email_taken", "An account with this email already exists."


def normalise_email(email: str) -> str:
    """Emails are stored and compared lower-cased and trimmed."""
    return email.strip().lower()


def is_admin(user: dict) -> bool:
    """Admin by grant, or by ADMIN_EMAILS once the email is verified."""
    if user.get("is_admin"):
        return True
    listed = user["email"] in current_app.config["ADMIN_EMAILS"]
    return listed and bool(user.get("email_verified"))


def to_json(user: dict) -> dict:
    """The API representation of a user document."""
    return {
        "id": str(user["_id"]),
        "email": user["email"],
        "email_verified": bool(user.get("email_verified")),
        "name": user["name"],
        "phase": user.get("phase", DEFAULTS["phase"]),
        "email_notifications": user.get("email_notifications", True),
        "timezone": user.get("timezone", "UTC"),
        "meeting_interval_days": user.get("meeting_interval_days", 7),
        "meeting_duration_minutes": user.get("meeting_duration_minutes", 30),
        "is_admin": is_admin(user),
        "created_at": clock.isoformat(user["created_at"]),
    }


def create_user(
    email: str,
    name: str,
    *,
    password_hash: str | None = None,
    google_sub: str | None = None,
    email_verified: bool = False,
    timezone: str | None = None,
) -> dict:
    """Insert a user; the unique index decides duplicates (409 email_taken)."""
    now = clock.now()
    user = {
        **DEFAULTS,
        "email": normalise_email(email),
        "email_verified": email_verified,
        "name": name,
        "timezone": timezone or DEFAULTS["timezone"],
        "phase_changed_at": now,
        "created_at": now,
    }
    # Optional fields are left out rather than stored as null (google_sub has a unique index).
    if password_hash:
        user["password_hash"] = password_hash
    if google_sub:
        user["google_sub"] = google_sub
    try:
        user["_id"] = get_db().users.insert_one(user).inserted_id
    except DuplicateKeyError:
        raise EmailTaken() from None
    return user


def get_user(user_id: ObjectId) -> dict:
    """The user, or 404."""
    user = get_db().users.find_one({"_id": user_id})
    if user is None:
        raise NotFound("The user was not found.")
    return user


def find_by_email(email: str) -> dict | None:
    """The user with this email, if any."""
    return get_db().users.find_one({"email": normalise_email(email)})


def update_profile(user_id: ObjectId, changes: dict) -> dict:
    """Apply validated profile changes; returns the updated user."""
    if not changes:
        return get_user(user_id)
    user = get_db().users.find_one_and_update(
        {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
    )
    if user is None:
        raise NotFound("The user was not found.")
    return user


def mark_verified(user_id: ObjectId, email: str) -> dict | None:
    """Mark the email verified if it is still the account's email; returns the user."""
    return get_db().users.find_one_and_update(
        {"_id": user_id, "email": email},
        {"$set": {"email_verified": True}},
        return_document=ReturnDocument.AFTER,
    )


def bump_token_version(user_id: ObjectId, extra: dict | None = None) -> dict:
    """Increment token_version (revoking every older token) and apply `extra` $set fields."""
    update: dict = {"$inc": {"token_version": 1}}
    if extra:
        update["$set"] = extra
    return get_db().users.find_one_and_update(
        {"_id": user_id}, update, return_document=ReturnDocument.AFTER
    )


def delete_user(user_id: ObjectId) -> None:
    """Delete a user and everything they own; their email_log rows lose their bodies and
    unsent ones are stopped."""
    db = get_db()
    for name in OWNED_COLLECTIONS:
        db[name].delete_many({"user_id": user_id})
    forget_user(str(user_id))
    db.users.delete_one({"_id": user_id})


class FreshSignInRequired(APIError):
    status, code = 401, "fresh_token_required"
    message = "Sign in with Google again (within 15 minutes) to delete this account."


def delete_account(user: dict, password: str | None, token: dict) -> None:
    """Delete the account after proving it is the owner: the password, or for a Google-only
    account an access token from a sign-in less than 15 minutes old."""
    if user.get("password_hash"):
        if not password or not verify_password(user["password_hash"], password):
            raise PasswordIncorrect("The password is wrong.")
    elif token.get("fresh") is not True:
        raise FreshSignInRequired()
    # Every token of the account dies with it: a token whose user is gone is refused.
    delete_user(user["_id"])


def grant_admin(email: str) -> dict:
    """Make the user with this email an admin."""
    user = get_db().users.find_one_and_update(
        {"email": normalise_email(email)},
        {"$set": {"is_admin": True}},
        return_document=ReturnDocument.AFTER,
    )
    if user is None:
        raise NotFound(f"No user with email {normalise_email(email)}.")
    return user
