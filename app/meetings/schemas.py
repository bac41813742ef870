"""Request and response schemas of /meetings."""

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from app.pagination import PageArgsSchema
from app.validation import timestamp_field

MEETING_STATUSES = ("scheduled", "active", "completed", "cancelled")

DURATION = validate.Range(min=15, max=120)
# Meeting ends, reminder leads and retention cut-offs are computed from these times: near
# either end of the calendar that arithmetic overflows (a 500), so such times are a 422.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _within_calendar(value: datetime) -> None:
    try:
        inside = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValidationError("Must be between 1970 and the end of 9998.")


def aware_datetime(**kwargs) -> fields.AwareDateTime:
    """ISO 8601 with an offset, between 1970 and 9998; a naive time is a 422."""
    return fields.AwareDateTime(format="iso", validate=_within_calendar, **kwargs)


class MeetingCreateSchema(Schema):
    scheduled_at = aware_datetime(required=True)
    duration_minutes = fields.Integer(strict=True, validate=DURATION)


class MeetingPatchSchema(Schema):
    scheduled_at = aware_datetime()
    duration_minutes = fields.Integer(strict=True, validate=DURATION)


class MeetingSchema(Schema):
    id = fields.String(required=True)
    scheduled_at = timestamp_field(required=True)
    ends_at = timestamp_field(required=True)
    duration_minutes = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(MEETING_STATUSES)})
    sequence = fields.Integer(required=True)
    created_at = timestamp_field(required=True)


class MeetingListArgs(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(MEETING_STATUSES))


class MeetingListSchema(Schema):
    meetings = fields.List(fields.Nested(MeetingSchema), required=True)
    next_cursor = fields.String(allow_none=True)
