"""Meeting windows: when a meeting is running, and which comes next (chat access).
Computed from the window (scheduled_at ≤ now < end), never from a possibly stale status."""

from datetime import datetime, timedelta

from bson import ObjectId

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
