"""Sample recipients and documents for previews (`flask email preview`, scripts/render_emails.py;
nothing is stored): the email type records build their preview data from these. Links are
production-shaped: the configured base URLs and tokens signed as the real ones are, of the
same length, under a purpose no route accepts."""

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from app import clock, links

# Real ids are not runs of zeros: a token of one would compress and come out short.
SAMPLE_USER_ID = ObjectId("674c1f9e8b3a5d2e71f04c86")
SAMPLE_EMAIL = "samantha.rivera@example.com"


def verify_url() -> str:
    """A verification link as signup mails it, for the sample recipient."""
    token = links.verify_email_token(SAMPLE_USER_ID, SAMPLE_EMAIL, purpose=links.PREVIEW)
    return links.verify_email_url(token)


def reset_url() -> str:
    """A password-reset link as a reset request mails it, for the sample recipient."""
    token = links.reset_password_token(SAMPLE_USER_ID, links.new_link_id(), purpose=links.PREVIEW)
    return links.reset_password_url(token)


def sample_recipient(name: str = "Sam Rivera", timezone: str = "America/New_York") -> dict:
    """A recipient as recipient_from_user builds it."""
    return {
        "user_id": str(SAMPLE_USER_ID),
        "email": SAMPLE_EMAIL,
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
