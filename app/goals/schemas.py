"""Request and response schemas of /goals."""

from marshmallow import Schema, fields, validate

from app.pagination import PageArgsSchema
from app.validation import Trimmed, timestamp_field

TITLE = validate.Length(min=1, max=200)


class GoalCreateSchema(Schema):
    title = Trimmed(required=True, validate=TITLE)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    target_date = fields.Date(load_default=None, allow_none=True)
    milestones = fields.List(
        Trimmed(validate=TITLE), load_default=list, validate=validate.Length(max=20)
    )


class GoalPatchSchema(Schema):
    """Milestones are fixed at creation, so a milestone's index never changes."""

    title = Trimmed(validate=TITLE)
    description = fields.String(validate=validate.Length(max=2000))
    target_date = fields.Date(allow_none=True)


class MilestoneSchema(Schema):
    index = fields.Integer(required=True)
    title = fields.String(required=True)
    achieved_at = timestamp_field(allow_none=True)


class GoalSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    target_date = fields.String(allow_none=True, metadata={"format": "date"})
    status = fields.String(required=True, metadata={"enum": ["active", "achieved"]})
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    created_at = timestamp_field(required=True)


class GoalListSchema(Schema):
    goals = fields.List(fields.Nested(GoalSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class GoalListArgs(PageArgsSchema):
    pass
