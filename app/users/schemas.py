"""Request and response schemas of /users."""

from marshmallow import Schema, fields, validate

from app.validation import name_field, strict_boolean, timestamp_field, timezone_field

PHASES = ("goal_setting", "tracking")


class UserSchema(Schema):
    """The user representation."""

    id = fields.String(required=True)
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    name = fields.String(required=True)
    phase = fields.String(required=True, metadata={"enum": list(PHASES)})
    email_notifications = fields.Boolean(required=True)
    timezone = fields.String(required=True)
    meeting_interval_days = fields.Integer(required=True)
    meeting_duration_minutes = fields.Integer(required=True)
    is_admin = fields.Boolean(required=True)
    created_at = timestamp_field(required=True)


class UserPatchSchema(Schema):
    """PATCH /users/me: any of these."""

    name = name_field()
    email_notifications = strict_boolean()
    timezone = timezone_field()
    meeting_interval_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=30))
    meeting_duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=15, max=120))


class DeleteAccountSchema(Schema):
    """DELETE /users/me."""

    password = fields.String(validate=validate.Length(max=128))


class PhaseSchema(Schema):
    """POST /users/me/phase: only the move into tracking exists."""

    phase = fields.String(required=True, validate=validate.OneOf(("tracking",)))
