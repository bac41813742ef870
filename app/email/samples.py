"""Sample recipients and documents for previews (`flask email preview`, scripts/render_emails.py;
nothing is stored): the email type records build their preview data from these."""

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from app import clock

SAMPLE_USER_ID = ObjectId("65f000000000000000000001")
VERIFY_URL = "http://localhost:5000/api/v1/auth/verify-email?token=sample"
RESET_URL = "http://localhost:3000/reset-password?token=sample"


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


def meeting(sequence: int = 0) -> dict:
    """A meeting tomorrow at 14:00 UTC."""
    start = (clock.now() + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    return {
        "_id": ObjectId("65f0000000000000000000a1"),
        "user_id": SAMPLE_USER_ID,
        "scheduled_at": start.astimezone(UTC),
        "duration_minutes": 30,
        "status": "scheduled",
        "sequence": sequence,
    }


def goal() -> dict:
    """A marathon goal, half of its milestones achieved."""
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
