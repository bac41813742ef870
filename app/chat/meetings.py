"""Meeting windows and the meeting representation, as far as the chat needs them.

The meetings feature will own the meeting representation; until it lands, `to_json` here is the
one the chat answers with (swap the import when `app.meetings` has its own).
"""

from datetime import datetime, timedelta

from bson import ObjectId

from app import clock
from app.db import get_db

# Durations are 15–120 minutes; looking back a day keeps the window query on the
# (user_id, scheduled_at) index while still finding any meeting that could be running now.
LOOKBACK = timedelta(days=1)
NOT_CANCELLED = {"$ne": "cancelled"}


def ends_at(meeting: dict) -> datetime:
    """The end of a meeting's window."""
    return meeting["scheduled_at"] + timedelta(minutes=meeting["duration_minutes"])


def active_meeting(user_id: ObjectId, now: datetime) -> dict | None:
    """The user's non-cancelled meeting whose window holds `now` (scheduled_at ≤ now < end),
    whatever its stored status says."""
    candidates = (
        get_db()
        .meetings.find(
            {
                "user_id": user_id,
                "status": NOT_CANCELLED,
                "scheduled_at": {"$lte": now, "$gt": now - LOOKBACK},
            }
        )
        .sort("scheduled_at", -1)
    )
    return next((m for m in candidates if now < ends_at(m)), None)


def next_meeting(user_id: ObjectId, now: datetime) -> dict | None:
    """The user's earliest non-cancelled meeting that starts after `now`."""
    return get_db().meetings.find_one(
        {"user_id": user_id, "status": NOT_CANCELLED, "scheduled_at": {"$gt": now}},
        sort=[("scheduled_at", 1)],
    )


def to_json(meeting: dict | None) -> dict | None:
    """The API representation of a meeting document (DESIGN 5.2)."""
    if meeting is None:
        return None
    return {
        "id": str(meeting["_id"]),
        "scheduled_at": clock.isoformat(meeting["scheduled_at"]),
        "ends_at": clock.isoformat(ends_at(meeting)),
        "duration_minutes": meeting["duration_minutes"],
        "status": meeting["status"],
        "sequence": meeting.get("sequence", 0),
        "created_at": clock.isoformat(meeting.get("created_at")),
    }
