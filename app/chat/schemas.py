"""Request and response schemas of /chat."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.meetings.schemas import MeetingSchema
from app.pagination import PageArgsSchema
from app.validation import Trimmed, timestamp_field

MAX_MESSAGE_LENGTH = 4000


class SendSchema(Schema):
    """POST /chat/send: 1–4000 characters after trimming."""

    message = Trimmed(required=True, validate=validate.Length(min=1, max=MAX_MESSAGE_LENGTH))


class HistoryArgs(PageArgsSchema):
    """`before` is an alias of `cursor` (the name clients of the original API use)."""

    before = fields.String(load_default=None, validate=validate.Length(max=200))

    @validates_schema
    def one_cursor(self, data, **kwargs):
        cursor, before = data.get("cursor"), data.get("before")
        if cursor and before and cursor != before:
            raise ValidationError("Give cursor or before, not two different ones.", "before")


class MessageSchema(Schema):
    id = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["user", "assistant"]})
    content = fields.String(required=True)
    created_at = timestamp_field(required=True)


class AccessSchema(Schema):
    has_access = fields.Boolean(required=True)
    reason = fields.String(
        required=True, metadata={"enum": ["goal_setting", "meeting_active", "outside_meeting"]}
    )
    active_meeting = fields.Nested(MeetingSchema, allow_none=True, required=True)
    next_meeting = fields.Nested(MeetingSchema, allow_none=True, required=True)


class HistorySchema(Schema):
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class SendResultSchema(Schema):
    message = fields.Nested(MessageSchema, required=True)
    reply = fields.Nested(MessageSchema, required=True)
