"""Helpers for the chat tests: users with tokens, meetings written as the meetings feature
would, sending."""

from datetime import UTC, datetime, timedelta

from app import clock
from app.db import get_db
from tests.accounts import bearer, login, make_user

CHAT = "/api/v1/chat"
# A Monday; tests freeze the clock around it.
T = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def chat_user(app, client, email="ada@example.com", name="Ada", **fields) -> tuple[dict, dict]:
    """A user (with `fields` stored on it) and the Authorization header of a fresh login."""
    user = make_user(app, email=email, name=name, **fields)
    return user, bearer(login(client, email=email)["access_token"])


def add_meeting(app, user, scheduled_at, duration_minutes=30, status="scheduled", sequence=0):
    """Insert a meeting document directly (the meetings feature owns writing them)."""
    meeting = {
        "user_id": user["_id"],
        "scheduled_at": scheduled_at,
        "duration_minutes": duration_minutes,
        "status": status,
        "sequence": sequence,
        "created_at": scheduled_at - timedelta(days=7),
    }
    if status != "cancelled":
        meeting["slot_taken"] = True
    with app.app_context():
        meeting["_id"] = get_db().meetings.insert_one(meeting).inserted_id
    return meeting


def add_goal(app, user, title, milestones=(), achieved=()):
    """Insert a goal with milestones (indexes in `achieved` are achieved)."""
    goal = {
        "user_id": user["_id"],
        "title": title,
        "description": "",
        "milestones": [
            {"title": m, **({"achieved_at": clock.now()} if i in achieved else {})}
            for i, m in enumerate(milestones)
        ],
        "status": "active",
        "created_at": clock.now(),
    }
    with app.app_context():
        goal["_id"] = get_db().goals.insert_one(goal).inserted_id
    return goal


def send(client, headers, text, **kwargs):
    """POST /chat/send."""
    return client.post(f"{CHAT}/send", headers=headers, json={"message": text}, **kwargs)


def stored_messages(app, user) -> list[dict]:
    """The user's chat documents, oldest first."""
    with app.app_context():
        return list(
            get_db()
            .chat_messages.find({"user_id": user["_id"]})
            .sort([("created_at", 1), ("_id", 1)])
        )
