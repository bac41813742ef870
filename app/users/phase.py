"""The move into the tracking phase: the phase, the first meeting, the phase email."""

from pymongo import ReturnDocument

from app import clock
from app.db import get_db
from app.email.send import send_phase_transition
from app.errors import APIError
from app.meetings.service import create_auto_meeting
from app.meetings.slots import first_meeting_time


class AlreadyTracking(APIError):
    status, code, message = 409, "already_tracking", "You are already in the tracking phase."


def start_tracking(user: dict) -> tuple[dict, dict | None]:
    """Move the user into tracking: the first meeting at 09:00 local `meeting_interval_days`
    ahead (with its invitation), then the phase email. Returns (user, meeting)."""
    now = clock.now()
    updated = get_db().users.find_one_and_update(
        {"_id": user["_id"], "phase": {"$ne": "tracking"}},
        {"$set": {"phase": "tracking", "phase_changed_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise AlreadyTracking()
    start = first_meeting_time(
        now, updated.get("timezone", "UTC"), updated.get("meeting_interval_days", 7)
    )
    meeting = create_auto_meeting(updated, start, now)
    send_phase_transition(updated["_id"], meeting["_id"] if meeting else None)
    return updated, meeting
