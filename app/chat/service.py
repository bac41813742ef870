"""The coach chat: when a user may talk to the coach, the history, sending a message."""

from datetime import datetime, timedelta

from bson import ObjectId
from flask import current_app

from app import clock
from app.coach import (
    CoachContext,
    CoachProvider,
    CoachUnavailable,
    Goal,
    Meeting,
    Milestone,
    Turn,
    build_provider,
)
from app.db import get_db
from app.errors import APIError
from app.meetings import windows
from app.meetings.service import to_json as meeting_json
from app.pagination import paginate

# How much of the conversation and of the goal list a provider sees.
CONTEXT_TURNS = 20
CONTEXT_GOALS = 20
ONE_MS = timedelta(milliseconds=1)
# Messages the retention clean-up deletes per round trip.
CLEANUP_BATCH = 1000


class ChatLocked(APIError):
    status, code = 403, "chat_locked"
    message = "The coach chat is open during your meetings; it opens again at the next one."


class CoachUnavailableError(APIError):
    status, code = 503, "coach_unavailable"
    message = "The coach could not answer right now. Your message is saved; try again shortly."


class CoachQuotaExceeded(APIError):
    status, code = 429, "coach_quota_exceeded"


def to_json(message: dict) -> dict:
    """The API representation of a chat message."""
    return {
        "id": str(message["_id"]),
        "role": message["role"],
        "content": message["content"],
        "created_at": clock.isoformat(message["created_at"]),
    }


def access(user: dict, now: datetime | None = None) -> dict:
    """Whether the user may chat now, why, and their active and next meetings (documents).

    goal_setting: always open. tracking: open only inside a non-cancelled meeting's window,
    computed from the window itself so a late status job never locks anyone out or in."""
    now = clock.now() if now is None else now
    active = windows.active_meeting(user["_id"], now)
    upcoming = windows.next_meeting(user["_id"], now)
    if user.get("phase", "goal_setting") != "tracking":
        has_access, reason = True, "goal_setting"
    elif active is not None:
        has_access, reason = True, "meeting_active"
    else:
        has_access, reason = False, "outside_meeting"
    return {
        "has_access": has_access,
        "reason": reason,
        "active_meeting": active,
        "next_meeting": upcoming,
    }


def access_to_json(state: dict) -> dict:
    """The API representation of `access()`."""
    return {
        **state,
        "active_meeting": meeting_json(state["active_meeting"]),
        "next_meeting": meeting_json(state["next_meeting"]),
    }


def history(user_id: ObjectId, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """The user's messages, newest first by (created_at, _id), one page."""
    return paginate(get_db().chat_messages, {"user_id": user_id}, "created_at", limit, cursor)


def _check_quota(user_id: ObjectId, now: datetime) -> None:
    # Counted from the stored messages, not a Redis counter: a flushed Redis cannot reset it.
    limit = current_app.config["COACH_DAILY_LIMIT"]
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + timedelta(days=1)
    sent_today = get_db().chat_messages.count_documents(
        {"user_id": user_id, "role": "user", "created_at": {"$gte": day_start, "$lt": day_end}}
    )
    if sent_today >= limit:
        raise CoachQuotaExceeded(
            f"You have sent today's {limit} messages to the coach; the count resets at "
            "midnight UTC.",
            headers={"Retry-After": str(int((day_end - now).total_seconds()) + 1)},
        )


def _provider() -> CoachProvider:
    provider = current_app.extensions.get("coach")
    if provider is None:
        provider = current_app.extensions["coach"] = build_provider(current_app.config)
    return provider


def _meeting(doc: dict | None) -> Meeting | None:
    if doc is None:
        return None
    return Meeting(doc["scheduled_at"], windows.ends_at(doc), doc["duration_minutes"])


def _goals(user_id: ObjectId) -> tuple[Goal, ...]:
    docs = get_db().goals.find({"user_id": user_id}).sort("created_at", 1).limit(CONTEXT_GOALS)
    goals = [
        Goal(
            title=doc["title"],
            description=doc.get("description", ""),
            status=doc.get("status", "active"),
            milestones=tuple(
                Milestone(m["title"], bool(m.get("achieved_at"))) for m in doc.get("milestones", [])
            ),
        )
        for doc in docs
    ]
    # Active goals first: they are what the coach should talk about.
    return tuple(sorted(goals, key=lambda goal: goal.status != "active"))


def _recent_turns(user_id: ObjectId) -> tuple[Turn, ...]:
    docs = (
        get_db()
        .chat_messages.find({"user_id": user_id})
        .sort([("created_at", -1), ("_id", -1)])
        .limit(CONTEXT_TURNS)
    )
    return tuple(Turn(doc["role"], doc["content"]) for doc in reversed(list(docs)))


def context_for(user: dict, message: str, state: dict, now: datetime) -> CoachContext:
    """What the coach gets to see for `message` (the conversation before it)."""
    return CoachContext(
        message=message,
        user_name=user.get("name", ""),
        phase=user.get("phase", "goal_setting"),
        timezone=user.get("timezone", "UTC"),
        now=now,
        coach_name=current_app.config["COACH_NAME"],
        goals=_goals(user["_id"]),
        active_meeting=_meeting(state["active_meeting"]),
        next_meeting=_meeting(state["next_meeting"]),
        history=_recent_turns(user["_id"]),
    )


def _store(user_id: ObjectId, role: str, content: str, at: datetime, meeting: dict | None):
    doc = {"user_id": user_id, "role": role, "content": content, "created_at": at}
    if meeting is not None:
        doc["meeting_id"] = meeting["_id"]
    doc["_id"] = get_db().chat_messages.insert_one(doc).inserted_id
    return doc


def send(user: dict, text: str) -> tuple[dict, dict]:
    """Store the (trimmed) message, ask the coach, store the reply; returns both documents.

    403 chat_locked outside access, 429 coach_quota_exceeded past COACH_DAILY_LIMIT user
    messages this UTC day, 503 coach_unavailable when the coach fails (the message stays)."""
    now = clock.now()
    state = access(user, now)
    if not state["has_access"]:
        opens_at = state["next_meeting"]["scheduled_at"] if state["next_meeting"] else None
        raise ChatLocked(details={"next_meeting_at": clock.isoformat(opens_at)})
    _check_quota(user["_id"], now)
    context = context_for(user, text, state, now)
    message = _store(user["_id"], "user", text, now, state["active_meeting"])
    try:
        answer = _provider().reply(context)
    except CoachUnavailable:
        raise CoachUnavailableError() from None
    # Strictly after the message, so (created_at, _id) order never depends on id generation.
    replied_at = max(clock.now(), message["created_at"] + ONE_MS)
    reply = _store(user["_id"], "assistant", answer, replied_at, state["active_meeting"])
    return message, reply


def delete_expired_messages(now: datetime) -> tuple[int, datetime]:
    """Delete messages older than CHAT_RETENTION_DAYS before `now`, in bounded batches;
    returns (how many, the cutoff)."""
    cutoff = now - timedelta(days=current_app.config["CHAT_RETENTION_DAYS"])
    messages = get_db().chat_messages
    deleted = 0
    while True:
        old = messages.find({"created_at": {"$lt": cutoff}}, {"_id": 1}).limit(CLEANUP_BATCH)
        batch = [doc["_id"] for doc in old]
        if not batch:
            return deleted, cutoff
        deleted += messages.delete_many({"_id": {"$in": batch}}).deleted_count
