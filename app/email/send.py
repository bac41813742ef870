"""One function per email the flows send: each builds its key from its type's record and goes
through the outbox seam. Each returns the outbox's `{"id", "status", "created"}`."""

from datetime import datetime

from app.email import types
from app.email.outbox import queue_email


def send_welcome(user_id, verify_url: str | None) -> dict:
    """The welcome email of a new account, with its email-verification link."""
    key = types.WELCOME.key(user_id=user_id)
    return queue_email(types.WELCOME.name, key, str(user_id), {"verify_url": verify_url})


def send_verification(user_id, verify_url: str, nonce: str) -> dict:
    """A new verification link (the welcome email again, under a key of its own)."""
    key = types.WELCOME.key(user_id=user_id, nonce=nonce)
    return queue_email(types.WELCOME.name, key, str(user_id), {"verify_url": verify_url})


def send_password_reset(user_id, reset_url: str, token_id: str) -> dict:
    """The reset link of one reset request (`token_id` names the request)."""
    key = types.PASSWORD_RESET.key(user_id=user_id, token_id=token_id)
    return queue_email(types.PASSWORD_RESET.name, key, str(user_id), {"reset_url": reset_url})


def send_milestone(user_id, goal_id, index: int) -> dict:
    """The celebration of one achieved milestone, once."""
    key = types.GOAL_MILESTONE.key(goal_id=goal_id, index=index)
    context = {"goal_id": str(goal_id), "index": index}
    return queue_email(types.GOAL_MILESTONE.name, key, str(user_id), context)


def send_phase_transition(user_id, meeting_id=None) -> dict:
    """The move into tracking, with the first meeting (else the next scheduled one)."""
    context = {"meeting_id": str(meeting_id)} if meeting_id else {}
    key = types.PHASE_TRANSITION.key(user_id=user_id)
    return queue_email(types.PHASE_TRANSITION.name, key, str(user_id), context)


def send_invitation(meeting: dict) -> dict:
    """The invitation (or update, sequence > 0) of a meeting at its current sequence."""
    return _meeting_email(types.MEETING_INVITATION, meeting)


def send_cancellation(meeting: dict) -> dict:
    """The cancellation of a meeting at its current sequence."""
    return _meeting_email(types.MEETING_CANCELLATION, meeting)


def send_reminder(meeting_id, user_id, kind: str, start: datetime) -> dict:
    """The `kind` reminder of a meeting starting at `start`."""
    key = types.MEETING_REMINDER.key(kind=kind, meeting_id=meeting_id, start=start)
    context = {"meeting_id": str(meeting_id), "kind": kind}
    return queue_email(types.MEETING_REMINDER.name, key, str(user_id), context)


def reminder_key(kind: str, meeting_id, start: datetime) -> str:
    """The idempotency key of a reminder (its exact-time job is named after it)."""
    return types.MEETING_REMINDER.key(kind=kind, meeting_id=meeting_id, start=start)


def _meeting_email(record: types.EmailType, meeting: dict) -> dict:
    key = record.key(meeting_id=meeting["_id"], sequence=int(meeting.get("sequence", 0)))
    context = {"meeting_id": str(meeting["_id"])}
    return queue_email(record.name, key, str(meeting["user_id"]), context)


def accepted(result: dict) -> bool:
    """Whether an email was accepted: stored, and neither suppressed nor opted out."""
    return result["status"] not in ("suppressed", "opted_out")
