"""Request and response schemas of /meetings."""

from marshmallow import Schema, fields, validate

from app.pagination import PageArgsSchema

DURATION = validate.Range(min=15, max=120)


def aware_datetime(**kwargs) -> fields.AwareDateTime:
    """ISO 8601 with an offset; a naive time is a 422."""
    return fields.AwareDateTime(format="iso", **kwargs)


class MeetingCreateSchema(Schema):
    scheduled_at = aware_datetime(required=True)
    duration_minutes = fields.Integer(strict=True, validate=DURATION)


class MeetingPatchSchema(Schema):
    scheduled_at = aware_datetime()
    duration_minutes = fields.Integer(strict=True, validate=DURATION)


class MeetingSchema(Schema):
    id = fields.String(required=True)
    scheduled_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    status = fields.String(required=True)
    sequence = fields.Integer(required=True)
    created_at = fields.String(required=True)


class MeetingListArgs(PageArgsSchema):
    status = fields.String(
        validate=validate.OneOf(("scheduled", "active", "completed", "cancelled"))
    )


class MeetingListSchema(Schema):
    meetings = fields.List(fields.Nested(MeetingSchema), required=True)
    next_cursor = fields.String(allow_none=True)
