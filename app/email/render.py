"""Rendering: each type's subject, HTML (CSS inlined) and plain text from Jinja templates on one
base, plus its ICS attachment and List-Unsubscribe headers. `load_data` reads what a type needs
from MongoDB; `render_email` itself is pure, so previews and PNG renders use it on samples."""

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app import clock
from app.db import get_db
from app.email import EMAIL_TYPES, respects_preferences
from app.email.calendar import ics_attachment
from app.email.tokens import unsubscribe_url
from app.errors import NotFound

TEMPLATES = Path(__file__).parent / "templates"
REMINDER_KINDS = ("24h", "1h")


@dataclass
class Rendered:
    """One rendered email, as stored in `email_log` and sent."""

    subject: str
    html: str
    text: str
    attachments: list[dict] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


@functools.cache
def _environment() -> Environment:
    # Autoescape for .html only: the text bodies are plain text, where &lt; would be noise.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def recipient_from_user(user: dict) -> dict:
    """The recipient fields rendering and the outbox need, from a `users` document."""
    return {
        "user_id": str(user["_id"]),
        "email": user["email"],
        "name": user.get("name") or user["email"].partition("@")[0],
        "timezone": user.get("timezone") or "UTC",
        "email_notifications": user.get("email_notifications", True),
        "email_status": user.get("email_status", "ok"),
    }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime, timezone: str) -> dict:
    """A moment as the user reads it: date, 12-hour time, zone abbreviation, IANA name."""
    local = moment.astimezone(_zone(timezone))
    return {
        "date": f"{local:%A, %B} {local.day}, {local.year}",
        "short_date": f"{local:%a, %b} {local.day}",
        "time": f"{local.hour % 12 or 12}:{local:%M} {local:%p}",
        "zone": local.strftime("%Z"),
        "timezone": timezone,
    }


def _meeting_view(meeting: dict, recipient: dict) -> dict:
    start = meeting["scheduled_at"].astimezone(UTC)
    end = start + timedelta(minutes=meeting["duration_minutes"])
    return {
        "id": str(meeting["_id"]),
        "start": local_time(start, recipient["timezone"]),
        "end": local_time(end, recipient["timezone"]),
        "duration_minutes": meeting["duration_minutes"],
        "sequence": int(meeting.get("sequence", 0)),
    }


def _object_id(value, what: str) -> ObjectId:
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError) as exc:
        raise NotFound(f"{what} {value!r} was not found") from exc


def _owned(collection: str, doc_id, recipient: dict, what: str) -> dict:
    doc = get_db()[collection].find_one({"_id": _object_id(doc_id, what)})
    if doc is None:
        raise NotFound(f"{what} {doc_id} was not found")
    if str(doc.get("user_id")) != recipient.get("user_id"):
        raise ValueError(f"{what} {doc_id} does not belong to user {recipient.get('user_id')}")
    return doc


def _next_meeting(recipient: dict) -> dict | None:
    return get_db().meetings.find_one(
        {
            "user_id": _object_id(recipient["user_id"], "user"),
            "status": "scheduled",
            "scheduled_at": {"$gte": clock.now()},
        },
        sort=[("scheduled_at", 1)],
    )


def load_data(email_type: str, recipient: dict, context: dict) -> dict:
    """The documents and values a type renders from (module docstring of outbox: contexts)."""
    if email_type not in EMAIL_TYPES:
        raise ValueError(f"unknown email type {email_type!r}")
    if email_type == "welcome":
        return {"verify_url": context.get("verify_url")}
    if email_type == "password_reset":
        if not isinstance(context.get("reset_url"), str):
            raise ValueError("password_reset needs a reset_url")
        return {"reset_url": context["reset_url"]}
    if email_type == "goal_milestone":
        goal = _owned("goals", context.get("goal_id"), recipient, "goal")
        index = context.get("index")
        if not isinstance(index, int) or not 0 <= index < len(goal.get("milestones", [])):
            raise NotFound(f"milestone {index!r} of goal {goal['_id']} was not found")
        return {"goal": goal, "index": index}
    if email_type == "phase_transition":
        meeting_id = context.get("meeting_id")
        if meeting_id:
            meeting = _owned("meetings", meeting_id, recipient, "meeting")
        elif recipient.get("user_id"):
            meeting = _next_meeting(recipient)
        else:
            meeting = None
        return {"meeting": meeting}
    if email_type == "meeting_reminder" and context.get("kind") not in REMINDER_KINDS:
        raise ValueError("meeting_reminder needs kind '24h' or '1h'")
    data = {"meeting": _owned("meetings", context.get("meeting_id"), recipient, "meeting")}
    if email_type == "meeting_reminder":
        data["kind"] = context["kind"]
    return data


def _subject(email_type: str, view: dict) -> str:
    meeting = view.get("meeting")
    if email_type == "welcome":
        return f"Welcome to GoalGetter, {view['name']}! Your breakthrough starts now"
    if email_type == "password_reset":
        return "Reset your GoalGetter password"
    if email_type == "goal_milestone":
        return f"Milestone crushed: {view['milestone']}!"
    if email_type == "phase_transition":
        return "You're in tracking mode. Let's make it happen!"
    start = meeting["start"]
    when = f"{start['short_date']} at {start['time']} {start['zone']}"
    if email_type == "meeting_invitation":
        if meeting["sequence"] > 0:
            return f"Updated: your coaching session is now {when}"
        return f"You're booked! Coaching session {when}"
    if email_type == "meeting_cancellation":
        return f"Cancelled: your coaching session {when}"
    if view["kind"] == "1h":
        return f"One hour to go! Your coaching session starts at {start['time']} {start['zone']}"
    return f"Coming up in 24 hours: your coaching session at {start['time']} {start['zone']}"


def _view(email_type: str, recipient: dict, data: dict) -> dict:
    config = current_app.config
    frontend = config["FRONTEND_URL"]
    view = {
        "email_type": email_type,
        "name": recipient["name"],
        "coach_name": config["COACH_NAME"],
        "support_email": config["SUPPORT_EMAIL"],
        "frontend_url": frontend,
        "unsubscribe_url": None,
        "respects_preferences": respects_preferences(email_type),
        "meeting": None,
    }
    if respects_preferences(email_type) and recipient.get("user_id"):
        view["unsubscribe_url"] = unsubscribe_url(recipient["user_id"])
    if data.get("meeting") is not None:
        view["meeting"] = _meeting_view(data["meeting"], recipient)
    if email_type == "welcome":
        view["verify_url"] = data.get("verify_url")
    elif email_type == "password_reset":
        view["reset_url"] = data["reset_url"]
    elif email_type == "goal_milestone":
        goal, index = data["goal"], data["index"]
        milestones = goal.get("milestones", [])
        # The milestone being celebrated counts as done even if the flow writes achieved_at
        # after queueing the email.
        achieved = [bool(m.get("achieved_at")) or i == index for i, m in enumerate(milestones)]
        pending = [m["title"] for m, done in zip(milestones, achieved, strict=True) if not done]
        view.update(
            goal_title=goal["title"],
            goal_url=f"{frontend}/goals/{goal['_id']}",
            milestone=milestones[index]["title"],
            done=sum(achieved),
            total=len(milestones),
            percent=round(100 * sum(achieved) / len(milestones)),
            next_milestone=pending[0] if pending else None,
        )
    elif email_type == "meeting_reminder":
        view["kind"] = data["kind"]
    return view


def render_email(email_type: str, recipient: dict, data: dict) -> Rendered:
    """Render one email of `email_type` for `recipient` from `data` (see load_data)."""
    view = _view(email_type, recipient, data)
    env = _environment()
    html = env.get_template(f"{email_type}.html").render(view)
    text = env.get_template(f"{email_type}.txt").render(view)
    headers = {}
    if view["unsubscribe_url"]:
        headers = {
            "List-Unsubscribe": f"<{view['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    attachments = []
    if email_type == "meeting_invitation":
        attachments.append(ics_attachment(data["meeting"], recipient, "REQUEST"))
    elif email_type == "meeting_cancellation":
        attachments.append(ics_attachment(data["meeting"], recipient, "CANCEL"))
    return Rendered(
        subject=_subject(email_type, view),
        html=_inliner().inline(html),
        text=text,
        attachments=attachments,
        headers=headers,
    )
