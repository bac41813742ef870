"""The seed-compatible send functions of the original system (DESIGN 7), each returning whether
the email was accepted: its row stored and neither suppressed nor opted out. They go through the
outbox seam; unsubscribing lives here too."""

import hashlib
import logging

from bson import ObjectId
from bson.errors import InvalidId

from app.db import get_db
from app.email.outbox import queue_email, queue_to_recipient
from app.email.render import recipient_from_user
from app.email.tokens import read_unsubscribe_token
from app.errors import NotFound

log = logging.getLogger(__name__)

NOT_ACCEPTED = ("suppressed", "opted_out")


def _accepted(result: dict) -> bool:
    return result["status"] not in NOT_ACCEPTED


def _find(collection: str, doc_id, what: str) -> dict:
    try:
        doc = get_db()[collection].find_one({"_id": ObjectId(str(doc_id))})
    except InvalidId:
        doc = None
    if doc is None:
        raise NotFound(f"{what} {doc_id} was not found")
    return doc


def recipient_for_address(to_email: str, name: str | None = None) -> dict:
    """The recipient for an address: its user when there is one, else a bare address (no
    preferences, no unsubscribe link)."""
    email = to_email.strip().lower()
    user = get_db().users.find_one({"email": email})
    if user is not None:
        return recipient_from_user(user)
    return {"email": email, "name": name or email.partition("@")[0], "timezone": "UTC"}


def send_welcome_email(to_email: str, user_name: str, verify_url: str | None = None) -> bool:
    """The welcome email (with the verify link when given)."""
    recipient = recipient_for_address(to_email, user_name)
    key = f"welcome:{recipient.get('user_id') or recipient['email']}"
    return _accepted(queue_to_recipient("welcome", key, recipient, {"verify_url": verify_url}))


def _meeting_email(email_type: str, prefix: str, meeting_id: str) -> bool:
    meeting = _find("meetings", meeting_id, "meeting")
    key = f"{prefix}:{meeting['_id']}:{int(meeting.get('sequence', 0))}"
    result = queue_email(email_type, key, str(meeting["user_id"]), {"meeting_id": str(meeting_id)})
    return _accepted(result)


def send_meeting_invitation(meeting_id: str) -> bool:
    """The invitation (or update, sequence > 0) with its METHOD:REQUEST invite."""
    return _meeting_email("meeting_invitation", "invitation", meeting_id)


def send_meeting_cancellation(meeting_id: str) -> bool:
    """The cancellation with its METHOD:CANCEL invite."""
    return _meeting_email("meeting_cancellation", "cancellation", meeting_id)


def send_meeting_reminder(meeting_id: str, kind: str) -> bool:
    """The 24h or 1h reminder, keyed on the meeting's time (a moved meeting gets a new one)."""
    if kind not in ("24h", "1h"):
        raise ValueError("kind must be '24h' or '1h'")
    meeting = _find("meetings", meeting_id, "meeting")
    epoch = int(meeting["scheduled_at"].timestamp())
    key = f"reminder-{kind}:{meeting['_id']}:{epoch}"
    context = {"meeting_id": str(meeting_id), "kind": kind}
    return _accepted(queue_email("meeting_reminder", key, str(meeting["user_id"]), context))


def send_goal_milestone(goal_id: str, index: int) -> bool:
    """The milestone email, once per milestone."""
    goal = _find("goals", goal_id, "goal")
    key = f"milestone:{goal['_id']}:{index}"
    context = {"goal_id": str(goal_id), "index": index}
    return _accepted(queue_email("goal_milestone", key, str(goal["user_id"]), context))


def send_phase_transition(user_id: str) -> bool:
    """The move-to-tracking email, once per user."""
    return _accepted(queue_email("phase_transition", f"phase:{user_id}:tracking", user_id, {}))


def send_password_reset(user_id: str, reset_url: str) -> bool:
    """The reset email; the key's token id is derived from the URL, which is unique per token."""
    token_id = hashlib.sha256(reset_url.encode()).hexdigest()[:16]
    key = f"password-reset:{user_id}:{token_id}"
    return _accepted(queue_email("password_reset", key, user_id, {"reset_url": reset_url}))


def unsubscribe_target(token: str) -> dict | None:
    """The user a token names (TokenTampered when we did not sign it; None if deleted)."""
    user_id = read_unsubscribe_token(token)
    try:
        return get_db().users.find_one({"_id": ObjectId(user_id)}, {"email": 1, "name": 1})
    except InvalidId:
        return None


def unsubscribe(token: str) -> bool:
    """Turn the token's user's notifications off; returns whether a user was found."""
    user = unsubscribe_target(token)
    if user is None:
        return False
    get_db().users.update_one({"_id": user["_id"]}, {"$set": {"email_notifications": False}})
    log.info("user %s unsubscribed from notification emails", user["_id"])
    return True
