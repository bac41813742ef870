"""Rendering: an email type's subject, HTML (CSS inlined) and plain text from Jinja templates on
one base, plus its ICS attachment and List-Unsubscribe headers. `load_data` reads what a type
needs from MongoDB; `render_email` itself is pure, so previews and PNG renders use it on
samples. What differs between types is their record (app/email/types.py)."""

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.email import types
from app.email.calendar import ics_attachment
from app.email.tokens import unsubscribe_url

TEMPLATES = Path(__file__).parent / "templates"


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


def load_data(email_type: str, recipient: dict, context: dict) -> dict:
    """The documents and values a type renders from (its record's loader)."""
    return types.get(email_type).load(recipient, context)


def _view(record: types.EmailType, recipient: dict, data: dict) -> dict:
    config = current_app.config
    view = {
        "email_type": record.name,
        "name": recipient["name"],
        "coach_name": config["COACH_NAME"],
        "support_email": config["SUPPORT_EMAIL"],
        "frontend_url": config["FRONTEND_URL"],
        "unsubscribe_url": None,
        "meeting": None,
    }
    if not record.critical and recipient.get("user_id"):
        view["unsubscribe_url"] = unsubscribe_url(recipient["user_id"])
    if data.get("meeting") is not None:
        view["meeting"] = _meeting_view(data["meeting"], recipient)
    view.update(record.view(data))
    return view


def render_email(email_type: str, recipient: dict, data: dict) -> Rendered:
    """Render one email of `email_type` for `recipient` from `data` (see load_data)."""
    record = types.get(email_type)
    view = _view(record, recipient, data)
    env = _environment()
    html = env.get_template(f"{record.name}.html").render(view)
    text = env.get_template(f"{record.name}.txt").render(view)
    headers = {}
    if view["unsubscribe_url"]:
        headers = {
            "List-Unsubscribe": f"<{view['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    attachments = []
    if record.ics_method:
        attachments.append(ics_attachment(data["meeting"], recipient, record.ics_method))
    return Rendered(
        subject=record.subject(view),
        html=_inliner().inline(html),
        text=text,
        attachments=attachments,
        headers=headers,
    )
