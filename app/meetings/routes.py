"""/api/v1/meetings: the user's coaching meetings."""

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint

from app import apidoc
from app.http import API_PREFIX, BEARER
from app.ids import parse_id
from app.meetings import service
from app.meetings.schemas import (
    MeetingCreateSchema,
    MeetingListArgs,
    MeetingListSchema,
    MeetingPatchSchema,
    MeetingSchema,
)

blp = Blueprint("meetings", __name__, url_prefix=f"{API_PREFIX}/meetings", description="Meetings")


@blp.route("", methods=["GET"])
@jwt_required()
@blp.arguments(MeetingListArgs, location="query")
@blp.response(200, MeetingListSchema)
@blp.doc(security=BEARER)
def list_meetings(args):
    """The user's meetings by start time (`?status=` filters)."""
    meetings, next_cursor = service.list_meetings(
        current_user["_id"], args.get("status"), args["limit"], args["cursor"]
    )
    return {"meetings": [service.to_json(m) for m in meetings], "next_cursor": next_cursor}


@blp.route("", methods=["POST"])
@jwt_required()
@blp.arguments(
    MeetingCreateSchema,
    example={"scheduled_at": "2027-01-20T10:00:00+01:00", "duration_minutes": 30},
)
@blp.response(201, MeetingSchema)
@blp.doc(security=BEARER, responses=apidoc.errors(service.MeetingOverlap))
def create_meeting(body):
    """Schedule a meeting in the future (no overlap); the invitation goes out."""
    meeting = service.create_meeting(
        current_user, body["scheduled_at"], body.get("duration_minutes")
    )
    return service.to_json(meeting)


@blp.route("/<meeting_id>", methods=["PATCH"])
@jwt_required()
@blp.arguments(MeetingPatchSchema, example={"scheduled_at": "2027-01-21T10:00:00Z"})
@blp.response(200, MeetingSchema)
@blp.doc(security=BEARER, responses=apidoc.errors(service.NotReschedulable, service.MeetingOverlap))
def reschedule(body, meeting_id):
    """Move or resize a scheduled meeting; an updated invitation goes out."""
    meeting = service.reschedule(
        current_user,
        parse_id(meeting_id, "meeting"),
        body.get("scheduled_at"),
        body.get("duration_minutes"),
    )
    return service.to_json(meeting)


@blp.route("/<meeting_id>/cancel", methods=["POST"])
@jwt_required()
@blp.response(200, MeetingSchema)
@blp.doc(security=BEARER, responses=apidoc.errors(service.NotCancellable))
def cancel(meeting_id):
    """Cancel a scheduled meeting; the cancellation goes out."""
    return service.to_json(service.cancel(current_user, parse_id(meeting_id, "meeting")))
