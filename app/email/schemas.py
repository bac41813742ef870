"""Request and response schemas of the email preferences (the API and the preference centre)."""

from marshmallow import Schema, ValidationError, fields, pre_load

from app.email import types
from app.validation import strict_boolean

EXAMPLE = {"meeting_reminders": True, "meeting_updates": True, "progress": False, "account": True}


class PreferencesSchema(Schema):
    """Every category and whether it is on; `account` is critical and always on."""

    meeting_reminders = fields.Boolean(
        required=True, metadata={"description": "24 hours and 1 hour before each meeting"}
    )
    meeting_updates = fields.Boolean(
        required=True, metadata={"description": "Invitations, updates and cancellations"}
    )
    progress = fields.Boolean(
        required=True, metadata={"description": "Milestones achieved, moving into tracking"}
    )
    account = fields.Boolean(
        required=True,
        metadata={"enum": [True], "description": "Welcome, verification, password reset"},
    )


class PreferencesPatchSchema(Schema):
    """Any subset of the optional categories; `account` cannot be turned off."""

    meeting_reminders = strict_boolean()
    meeting_updates = strict_boolean()
    progress = strict_boolean()

    @pre_load
    def _critical_stays_on(self, data, **kwargs):
        if isinstance(data, dict) and types.ACCOUNT in data:
            raise ValidationError(
                {types.ACCOUNT: ["Account emails are critical and cannot be turned off."]}
            )
        return data


class PreferencesFormSchema(Schema):
    """The preference centre's form: a checked box is on, a box left out is off."""

    meeting_reminders = fields.Boolean(load_default=False, metadata={"example": "on"})
    meeting_updates = fields.Boolean(load_default=False, metadata={"example": "on"})
    progress = fields.Boolean(load_default=False)


class OneClickSchema(Schema):
    """The answer of a one-click unsubscribe."""

    status = fields.String(required=True, metadata={"enum": ["unsubscribed"]})
    category = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "enum": ["meeting_reminders", "meeting_updates", "progress", None],
            "description": "The category turned off; null: every optional one (older links)",
        },
    )
