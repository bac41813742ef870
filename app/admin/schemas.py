"""Request and response schemas of /admin."""

from marshmallow import Schema, fields, validate

from app.email import ROW_STATUSES
from app.email.types import TYPES
from app.meetings.schemas import aware_datetime
from app.pagination import PageArgsSchema
from app.validation import email_field


class JobRunSchema(Schema):
    now = aware_datetime()


class JobSchema(Schema):
    job_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    status = fields.String(required=True)
    result = fields.Raw(allow_none=True)
    enqueued_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)


class EmailEventSchema(Schema):
    event = fields.String()
    at = fields.String()


class EmailSchema(Schema):
    id = fields.String(required=True)
    key = fields.String(required=True)
    type = fields.String(required=True)
    to = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    sent_at = fields.String(allow_none=True)
    events = fields.List(fields.Nested(EmailEventSchema))
    subject = fields.String()
    html = fields.String()
    text = fields.String()


class EmailListArgs(PageArgsSchema):
    to = email_field()
    type = fields.String(validate=validate.OneOf(tuple(TYPES)))
    status = fields.String(validate=validate.OneOf(ROW_STATUSES))
    include = fields.String(validate=validate.OneOf(("body",)))


class RedriveSchema(Schema):
    """Which failed emails to send again: by id, or all of a type and/or since a time."""

    ids = fields.List(
        fields.String(validate=validate.Length(max=24)), validate=validate.Length(min=1, max=1000)
    )
    type = fields.String(validate=validate.OneOf(tuple(TYPES)))
    failed_since = aware_datetime()


class RedriveResultSchema(Schema):
    retried = fields.Integer(required=True)


class EmailListSchema(Schema):
    emails = fields.List(fields.Nested(EmailSchema), required=True)
    next_cursor = fields.String(allow_none=True)
