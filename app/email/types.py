"""Every email the service sends, one record each: its idempotency key, what it loads, what its
templates show and its subject, its calendar invite, its preference category, how urgently it
goes, and sample data for previews. Rendering, the outbox, delivery and the send functions
read these records; adding an email type is one record here plus its two templates
(`templates/<name>.html` and `.txt`) and a test.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app

from app import clock
from app.db import get_db
from app.email import samples
from app.errors import NotFound
from app.reminder_kinds import KINDS

ACCOUNT = "account"
MEETING_UPDATES = "meeting_updates"
MEETING_REMINDERS = "meeting_reminders"
PROGRESS = "progress"
# The preference categories; `account` mail is critical: nobody can turn it off.
CATEGORIES = (MEETING_REMINDERS, MEETING_UPDATES, PROGRESS, ACCOUNT)
CRITICAL = (ACCOUNT,)
# How the preference centre and the emails' footers name each category.
CATEGORY_LABELS = {
    MEETING_REMINDERS: "meeting reminders (24 hours and 1 hour before)",
    MEETING_UPDATES: "meeting invitations, updates and cancellations",
    PROGRESS: "progress emails (milestones, moving into tracking)",
    ACCOUNT: "account emails (welcome, verification, password reset)",
}


def _nothing(recipient: dict, context: dict) -> dict:
    return {}


def _no_view(data: dict) -> dict:
    return {}


def _never(context: dict) -> bool:
    return False


def _not_due(data: dict) -> None:
    return None


@dataclass(frozen=True)
class EmailType:
    """One email type. `key(**parts)` builds its idempotency key; `load(recipient, context)`
    reads what it renders from MongoDB (raising NotFound or ValueError for bad references);
    `view(data)` adds its own template values; `subject(view)` is its subject line;
    `sample(variant)` is preview data as `load` would return it; `due(data)` is when it is
    meant to go out, for types that have such a time (its lateness is measured)."""

    name: str
    category: str
    key: Callable[..., str]
    subject: Callable[[dict], str]
    sample: Callable[[str | None], dict]
    load: Callable[[dict, dict], dict] = _nothing
    view: Callable[[dict], dict] = _no_view
    ics_method: str | None = None
    urgent: Callable[[dict], bool] = _never
    due: Callable[[dict], datetime | None] = _not_due
    variants: tuple[str | None, ...] = (None,)

    @property
    def critical(self) -> bool:
        """Whether it goes whatever the user's preferences say."""
        return self.category in CRITICAL


def object_id(value, what: str) -> ObjectId:
    """The ObjectId of a reference, or NotFound."""
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError) as exc:
        raise NotFound(f"{what} {value!r} was not found") from exc


def _owned(collection: str, doc_id, recipient: dict, what: str) -> dict:
    doc = get_db()[collection].find_one({"_id": object_id(doc_id, what)})
    if doc is None:
        raise NotFound(f"{what} {doc_id} was not found")
    if str(doc.get("user_id")) != recipient.get("user_id"):
        raise ValueError(f"{what} {doc_id} does not belong to user {recipient.get('user_id')}")
    return doc


def _meeting(recipient: dict, context: dict) -> dict:
    # A fan-out that has read the meetings already passes the document along.
    meeting = context.get("meeting")
    if meeting is not None and str(meeting.get("user_id")) == recipient.get("user_id"):
        return {"meeting": meeting}
    return {"meeting": _owned("meetings", context.get("meeting_id"), recipient, "meeting")}


def _when(view: dict) -> str:
    start = view["meeting"]["start"]
    return f"{start['short_date']} at {start['time']} {start['zone']}"


def _welcome_load(recipient: dict, context: dict) -> dict:
    return {"verify_url": context.get("verify_url")}


def _reset_load(recipient: dict, context: dict) -> dict:
    if not isinstance(context.get("reset_url"), str):
        raise ValueError("password_reset needs a reset_url")
    return {"reset_url": context["reset_url"]}


def _milestone_load(recipient: dict, context: dict) -> dict:
    goal = _owned("goals", context.get("goal_id"), recipient, "goal")
    index = context.get("index")
    if not isinstance(index, int) or not 0 <= index < len(goal.get("milestones", [])):
        raise NotFound(f"milestone {index!r} of goal {goal['_id']} was not found")
    return {"goal": goal, "index": index}


def _milestone_view(data: dict) -> dict:
    goal, index = data["goal"], data["index"]
    milestones = goal.get("milestones", [])
    # The milestone being celebrated counts as done even if the flow writes achieved_at after
    # queueing the email.
    achieved = [bool(m.get("achieved_at")) or i == index for i, m in enumerate(milestones)]
    pending = [m["title"] for m, done in zip(milestones, achieved, strict=True) if not done]
    return {
        "goal_title": goal["title"],
        "goal_url": f"{current_app.config['FRONTEND_URL']}/goals/{goal['_id']}",
        "milestone": milestones[index]["title"],
        "done": sum(achieved),
        "total": len(milestones),
        "percent": round(100 * sum(achieved) / len(milestones)),
        "next_milestone": pending[0] if pending else None,
    }


def _phase_load(recipient: dict, context: dict) -> dict:
    meeting_id = context.get("meeting_id")
    if meeting_id:
        return _meeting(recipient, context)
    if not recipient.get("user_id"):
        return {"meeting": None}
    # Without the first meeting named, the user's next scheduled one is shown.
    meeting = get_db().meetings.find_one(
        {
            "user_id": object_id(recipient["user_id"], "user"),
            "status": "scheduled",
            "scheduled_at": {"$gte": clock.now()},
        },
        sort=[("scheduled_at", 1)],
    )
    return {"meeting": meeting}


def _reminder_load(recipient: dict, context: dict) -> dict:
    if context.get("kind") not in KINDS:
        raise ValueError(f"meeting_reminder needs kind {' or '.join(map(repr, KINDS))}")
    return {**_meeting(recipient, context), "kind": context["kind"]}


def _reminder_urgent(context: dict) -> bool:
    kind = KINDS.get(context.get("kind"))
    return kind is not None and kind.urgent


def _reminder_due(data: dict) -> datetime:
    return data["meeting"]["scheduled_at"] - KINDS[data["kind"]].lead


def _reminder_subject(view: dict) -> str:
    start = view["meeting"]["start"]
    if view["kind"] == "1h":
        return f"One hour to go! Your coaching session starts at {start['time']} {start['zone']}"
    return f"Coming up in 24 hours: your coaching session at {start['time']} {start['zone']}"


def _invitation_subject(view: dict) -> str:
    if view["meeting"]["sequence"] > 0:
        return f"Updated: your coaching session is now {_when(view)}"
    return f"You're booked! Coaching session {_when(view)}"


def epoch(moment: datetime) -> int:
    """Seconds since the epoch of a meeting's start, as reminder keys carry it."""
    return int(moment.timestamp())


WELCOME = EmailType(
    name="welcome",
    category=ACCOUNT,
    # A second key for the same type: the resend of a verification link (`nonce` set).
    key=lambda user_id, nonce=None: f"verify:{user_id}:{nonce}" if nonce else f"welcome:{user_id}",
    load=_welcome_load,
    view=lambda data: {"verify_url": data.get("verify_url")},
    subject=lambda view: f"Welcome to GoalGetter, {view['name']}! Your breakthrough starts now",
    sample=lambda variant: {"verify_url": samples.verify_url()},
)
PASSWORD_RESET = EmailType(
    name="password_reset",
    category=ACCOUNT,
    key=lambda user_id, token_id: f"password-reset:{user_id}:{token_id}",
    load=_reset_load,
    view=lambda data: {"reset_url": data["reset_url"]},
    subject=lambda view: "Reset your GoalGetter password",
    sample=lambda variant: {"reset_url": samples.reset_url()},
)
GOAL_MILESTONE = EmailType(
    name="goal_milestone",
    category=PROGRESS,
    key=lambda goal_id, index: f"milestone:{goal_id}:{index}",
    load=_milestone_load,
    view=_milestone_view,
    subject=lambda view: f"Milestone crushed: {view['milestone']}!",
    sample=lambda variant: {"goal": samples.goal(), "index": 1},
)
PHASE_TRANSITION = EmailType(
    name="phase_transition",
    category=PROGRESS,
    key=lambda user_id: f"phase:{user_id}:tracking",
    load=_phase_load,
    subject=lambda view: "You're in tracking mode. Let's make it happen!",
    sample=lambda variant: {"meeting": samples.meeting()},
)
MEETING_INVITATION = EmailType(
    name="meeting_invitation",
    category=MEETING_UPDATES,
    key=lambda meeting_id, sequence: f"invitation:{meeting_id}:{sequence}",
    load=_meeting,
    subject=_invitation_subject,
    ics_method="REQUEST",
    sample=lambda variant: {"meeting": samples.meeting(sequence=1 if variant else 0)},
    variants=(None, "updated"),
)
MEETING_CANCELLATION = EmailType(
    name="meeting_cancellation",
    category=MEETING_UPDATES,
    key=lambda meeting_id, sequence: f"cancellation:{meeting_id}:{sequence}",
    load=_meeting,
    subject=lambda view: f"Cancelled: your coaching session {_when(view)}",
    ics_method="CANCEL",
    sample=lambda variant: {"meeting": samples.meeting()},
)
MEETING_REMINDER = EmailType(
    name="meeting_reminder",
    category=MEETING_REMINDERS,
    # One reminder of each kind per meeting time: a moved meeting gets new ones.
    key=lambda kind, meeting_id, start: f"reminder-{kind}:{meeting_id}:{epoch(start)}",
    load=_reminder_load,
    view=lambda data: {"kind": data["kind"]},
    subject=_reminder_subject,
    urgent=_reminder_urgent,
    due=_reminder_due,
    sample=lambda variant: {"meeting": samples.meeting(), "kind": variant or "24h"},
    variants=tuple(KINDS),
)

TYPES: dict[str, EmailType] = {
    record.name: record
    for record in (
        WELCOME,
        MEETING_INVITATION,
        MEETING_CANCELLATION,
        MEETING_REMINDER,
        GOAL_MILESTONE,
        PHASE_TRANSITION,
        PASSWORD_RESET,
    )
}


def get(name: str) -> EmailType:
    """The record of an email type (ValueError for an unknown one)."""
    try:
        return TYPES[name]
    except KeyError:
        raise ValueError(f"unknown email type {name!r}") from None


def previews() -> list[tuple[str, str | None]]:
    """(type, variant) pairs that together show every distinct layout."""
    return [(record.name, variant) for record in TYPES.values() for variant in record.variants]
