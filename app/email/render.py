"""Rendering: an email type's subject, HTML (CSS inlined) and plain text from Jinja templates on
one base, plus its ICS attachment and List-Unsubscribe headers. What differs between types is
their record (app/email/types.py); `load_data` reads what a type needs from MongoDB.

An email is composed as a Template (subject, HTML and text with a substitution tag where each
of its personal values goes) and the values for those tags. Every non-empty string the
templates show is such a value, so the emails of one type and shape — 10,000 reminders, say —
share one Template: Jinja and the CSS inliner run once for all of them, SendGrid can send them
as personalizations of one request, and each outbox row stores only its values. `fill` puts the
values back (HTML-escaped in the HTML, as Jinja would); `render_email` does both, for previews.
"""

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from app.email import types
from app.email.calendar import ics_attachment
from app.email.tokens import unsubscribe_url

TEMPLATES = Path(__file__).parent / "templates"
# View keys templates branch on (`{% if kind == "1h" %}`): part of the shape, never a value.
SHAPE_KEYS = frozenset({"kind", "email_type"})
# A masked value while Jinja renders: `%gg.<path>%`; in the stored template the HTML's tags
# end in `.h%` (escaped value) and the text's and subject's in `.t%` (the value as it is).
_MASKED = re.compile(r"%gg\.([A-Za-z0-9_.]+)%")
_TAG = re.compile(r"%gg\.([A-Za-z0-9_.]+)\.([ht])%")
# What keeps a value from ever reading as a tag (SendGrid substitutes every tag it finds).
_DEFUSE = ("%gg.", "%\u200bgg.")
TEMPLATE_CACHE_SIZE = 512


@dataclass(frozen=True)
class Template:
    """What emails of one type and shape share: subject, HTML (CSS inlined) and text, with a
    substitution tag for each personal value; `id` is a digest of the three."""

    id: str
    subject: str
    html: str
    text: str


@dataclass
class Composed:
    """One email: its Template, the value of each tag, headers and attachments."""

    template: Template
    values: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)


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
        "notifications": user.get("notifications") or {},
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
        "category_label": types.CATEGORY_LABELS[record.category],
        "meeting": None,
    }
    if not record.critical and recipient.get("user_id"):
        view["unsubscribe_url"] = unsubscribe_url(recipient["user_id"], record.category)
    if data.get("meeting") is not None:
        view["meeting"] = _meeting_view(data["meeting"], recipient)
    view.update(record.view(data))
    return view


def tag(path: str, context: str) -> str:
    """The substitution tag of a value in the HTML (`h`) or the text and subject (`t`)."""
    return f"%gg.{path}.{context}%"


def _mask(view: dict, values: dict, prefix: str = "") -> dict:
    masked = {}
    for key, value in view.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            masked[key] = _mask(value, values, f"{path}.")
        elif isinstance(value, str) and value and key not in SHAPE_KEYS:
            values[path] = value
            masked[key] = f"%gg.{path}%"
        else:
            masked[key] = value
    return masked


_templates: dict[tuple[str, str], Template] = {}


def _template(email_type: str, masked: dict) -> Template:
    """The Template of a masked view, built once per type and shape in this process."""
    key = (email_type, repr(masked))
    template = _templates.get(key)
    if template is None:
        if len(_templates) >= TEMPLATE_CACHE_SIZE:
            _templates.clear()
        template = _templates[key] = _build(email_type, masked)
    return template


def _build(email_type: str, view: dict) -> Template:
    record = types.get(email_type)
    env = _environment()
    html = _inliner().inline(env.get_template(f"{record.name}.html").render(view))
    text = env.get_template(f"{record.name}.txt").render(view)
    subject = record.subject(view)
    html = _MASKED.sub(lambda m: tag(m.group(1), "h"), html)
    text = _MASKED.sub(lambda m: tag(m.group(1), "t"), text)
    subject = _MASKED.sub(lambda m: tag(m.group(1), "t"), subject)
    digest = hashlib.sha256("\0".join((email_type, subject, html, text)).encode()).hexdigest()
    return Template(digest[:32], subject, html, text)


def compose(email_type: str, recipient: dict, data: dict) -> Composed:
    """Compose one email of `email_type` for `recipient` from `data` (see load_data)."""
    record = types.get(email_type)
    view = _view(record, recipient, data)
    values: dict[str, str] = {}
    template = _template(email_type, _mask(view, values))
    headers = {}
    if view["unsubscribe_url"]:
        headers = {
            "List-Unsubscribe": f"<{view['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    attachments = []
    if record.ics_method:
        attachments.append(ics_attachment(data["meeting"], recipient, record.ics_method))
    return Composed(template, values, headers, attachments)


def defuse(value: str) -> str:
    """A value that cannot be read as a tag, wherever it is substituted."""
    return value.replace(*_DEFUSE)


def substitutions(values: dict[str, str]) -> dict[str, str]:
    """The tag → text map SendGrid substitutes for one recipient (HTML-escaped in the HTML)."""
    out = {}
    for path, value in values.items():
        safe = defuse(value)
        out[tag(path, "t")] = safe
        out[tag(path, "h")] = str(escape(safe))
    return out


def fill(template: Template, values: dict[str, str]) -> tuple[str, str, str]:
    """(subject, html, text) with every tag replaced by its value, in one pass."""
    table = substitutions(values)

    def put(text: str) -> str:
        return _TAG.sub(lambda m: table.get(m.group(0), ""), text)

    return put(template.subject), put(template.html), put(template.text)


def render_email(email_type: str, recipient: dict, data: dict) -> Rendered:
    """Render one email of `email_type` for `recipient` from `data`, values filled in."""
    composed = compose(email_type, recipient, data)
    subject, html, text = fill(composed.template, composed.values)
    return Rendered(
        subject=subject,
        html=html,
        text=text,
        attachments=composed.attachments,
        headers=composed.headers,
    )
