"""Request and response schemas of /admin."""

from marshmallow import Schema, fields, validate
from rq.job import JobStatus

from app.email import ROW_STATUSES
from app.email.timeline import DELIVERY_STATUSES
from app.email.types import TYPES
from app.meetings.schemas import aware_datetime
from app.pagination import PageArgsSchema
from app.validation import email_field, timestamp_field


class JobRunSchema(Schema):
    now = aware_datetime()


class JobSchema(Schema):
    job_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in JobStatus]})
    result = fields.Raw(allow_none=True)
    enqueued_at = timestamp_field(allow_none=True)
    ended_at = timestamp_field(allow_none=True)


class EmailEventSchema(Schema):
    """One SendGrid event as the row keeps it."""

    event = fields.String(
        required=True,
        metadata={
            "example": "delivered",
            "description": "processed, deferred, delivered, open, click, bounce, dropped, "
            "spamreport, unsubscribe, group_unsubscribe, …",
        },
    )
    at = fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When it happened (SendGrid's timestamp)"},
    )
    sg_event_id = fields.String(metadata={"description": "SendGrid's id of the event"})
    reason = fields.String()
    type = fields.String(metadata={"description": "bounce or blocked, for bounces"})
    status = fields.String(metadata={"description": "SMTP status, for bounces"})
    response = fields.String(metadata={"description": "The receiving server's answer"})
    attempt = fields.String(metadata={"description": "Delivery attempt, for deferrals"})
    url = fields.String(metadata={"description": "The link clicked"})


class EmailSchema(Schema):
    id = fields.String(required=True)
    key = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(tuple(TYPES)))
    to = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ROW_STATUSES))
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    sent_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    delivery_status = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(DELIVERY_STATUSES),
        metadata={"description": "From the events; accepted once SendGrid took it; null before"},
    )
    opened = fields.Boolean(required=True)
    clicked = fields.Boolean(required=True)
    events = fields.List(
        fields.Nested(EmailEventSchema),
        required=True,
        metadata={"description": "In the order they happened, each once"},
    )
    # With include=body; null for a row that has no bodies (opted out, suppressed, a deleted
    # user's).
    subject = fields.String(allow_none=True)
    html = fields.String(allow_none=True)
    text = fields.String(allow_none=True)


class EmailListArgs(PageArgsSchema):
    to = email_field()
    type = fields.String(validate=validate.OneOf(tuple(TYPES)))
    status = fields.String(validate=validate.OneOf(ROW_STATUSES))
    delivery_status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    include = fields.String(validate=validate.OneOf(("body",)))


class EmailArgs(Schema):
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
