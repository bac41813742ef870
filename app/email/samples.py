"""Sample recipients and documents for previews (`flask email preview`, scripts/render_emails.py,
nothing stored): every type rendered as a user would see it."""

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from app import clock
from app.email import EMAIL_TYPES

SAMPLE_USER_ID = ObjectId("65f000000000000000000001")


def sample_recipient(name: str = "Sam Rivera", timezone: str = "America/New_York") -> dict:
    """A recipient as recipient_from_user builds it."""
    return {
        "user_id": str(SAMPLE_USER_ID),
        "email": "sam@example.com",
        "name": name,
        "timezone": timezone,
        "email_notifications": True,
        "email_status": "ok",
    }


def _meeting(sequence: int = 0) -> dict:
    start = (clock.now() + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    return {
        "_id": ObjectId("65f0000000000000000000a1"),
        "user_id": SAMPLE_USER_ID,
        "scheduled_at": start.astimezone(UTC),
        "duration_minutes": 30,
        "status": "scheduled",
        "sequence": sequence,
    }


def _goal() -> dict:
    done = datetime(2026, 11, 1, tzinfo=UTC)
    return {
        "_id": ObjectId("65f0000000000000000000b1"),
        "user_id": SAMPLE_USER_ID,
        "title": "Run a marathon",
        "milestones": [
            {"title": "Run 5k without stopping", "achieved_at": done},
            {"title": "Run a half marathon", "achieved_at": done},
            {"title": "Run 30k", "achieved_at": None},
            {"title": "Finish the marathon", "achieved_at": None},
        ],
    }


def sample_data(email_type: str, variant: str | None = None) -> dict:
    """What load_data would return for a typical email of `email_type`."""
    if email_type not in EMAIL_TYPES:
        raise ValueError(f"unknown email type {email_type!r}")
    if email_type == "welcome":
        return {"verify_url": "http://localhost:5000/api/v1/auth/verify-email?token=sample"}
    if email_type == "password_reset":
        return {"reset_url": "http://localhost:3000/reset-password?token=sample"}
    if email_type == "goal_milestone":
        return {"goal": _goal(), "index": 1}
    if email_type == "meeting_invitation":
        return {"meeting": _meeting(sequence=1 if variant == "updated" else 0)}
    if email_type == "meeting_reminder":
        return {"meeting": _meeting(), "kind": variant or "24h"}
    return {"meeting": _meeting()}


# (type, variant) pairs that together show every distinct layout.
PREVIEWS = (
    ("welcome", None),
    ("meeting_invitation", None),
    ("meeting_invitation", "updated"),
    ("meeting_cancellation", None),
    ("meeting_reminder", "24h"),
    ("meeting_reminder", "1h"),
    ("goal_milestone", None),
    ("phase_transition", None),
    ("password_reset", None),
)
