"""The seam every email goes through: `queue_email(email_type, key, user_id, context)`, and
`queue_many` for a fan-out.

It checks suppression (`email_status` bounced or complained → a `suppressed` row) and
preferences (a type whose category the user turned off, app/email/preferences.py → an
`opted_out` row), neither with bodies; otherwise composes the email and writes the `pending`
row under its unique `key`, then enqueues delivery best-effort (Redis down → the row stays
`pending` and the catch-up sends it). A key that already exists returns its row and sends
nothing new. Returns `{"id": <email_log id>, "status": <row status>, "created": <bool>}`.

A row stores its Template's id (the shared subject, HTML and text, kept once in
`email_templates`) and its own values, headers and attachments; `bodies(row)` puts them
together. Flows do not call this with keys of their own: they call app/email/send.py, which
builds the key from the type's record. Fan-outs wrap their loop in `with delivery_batch():` so
the rows go out in jobs of `delivery.BATCH_SIZE`, not one job each.
"""

import contextlib
import contextvars
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from app import clock
from app.db import get_db
from app.email import BODY_FIELDS, delivery, preferences, stats, types
from app.email.delivery import Pending, enqueue_delivery_best_effort
from app.email.render import Template, compose, fill, load_data, recipient_from_user
from app.errors import NotFound

log = logging.getLogger(__name__)

SUPPRESSED_STATUSES = ("bounced", "complained")
DUPLICATE_KEY = 11000
# Templates never change (the id is their digest), so a read once is good for the process.
_template_cache: dict[str, dict] = {}

_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("email_batch", default=None)


@dataclass(frozen=True)
class Email:
    """One email a fan-out queues: type, key, recipient dict and context."""

    email_type: str
    key: str
    recipient: dict
    context: dict


@contextlib.contextmanager
def delivery_batch():
    """Collect the deliveries of every email queued inside; enqueue them in batches on exit."""
    if _batch.get() is not None:
        yield  # an outer batch collects these too
        return
    collected: list[Pending] = []
    token = _batch.set(collected)
    try:
        yield
    finally:
        _batch.reset(token)
        # Rows written before an exception are real: they are enqueued all the same.
        enqueue_delivery_best_effort(collected)


@contextlib.contextmanager
def delivery_held():
    """Queue without enqueueing delivery: the caller delivers the rows itself (a job that
    sends its email in the same job)."""
    token = _batch.set([])
    try:
        yield
    finally:
        _batch.reset(token)


def _result(row: dict, created: bool) -> dict:
    return {"id": str(row["_id"]), "status": row["status"], "created": created}


def recipient_for_user(user_id) -> dict:
    """The recipient dict of a user id (NotFound when there is no such user)."""
    user = get_db().users.find_one({"_id": types.object_id(user_id, "user")})
    if user is None:
        raise NotFound(f"user {user_id} was not found")
    return recipient_from_user(user)


def recipient_for_address(to_email: str, name: str | None = None) -> dict:
    """The recipient for an address: its user when there is one, else a bare address (no
    preferences, no unsubscribe link)."""
    email = to_email.strip().lower()
    user = get_db().users.find_one({"email": email})
    if user is not None:
        return recipient_from_user(user)
    return {"email": email, "name": name or email.partition("@")[0], "timezone": "UTC"}


def gate(record: types.EmailType, recipient: dict) -> str | None:
    """The status that stops this email before rendering (`suppressed`, `opted_out`), if any."""
    if recipient.get("email_status", "ok") in SUPPRESSED_STATUSES:
        return "suppressed"
    if not preferences.allows(recipient, record.category):
        return "opted_out"
    return None


def _store_templates(templates: Iterable[Template]) -> None:
    """Store each distinct Template once (an upsert that changes nothing if it is there)."""
    distinct = {t.id: t for t in templates}
    collection = get_db().email_templates
    now = clock.now()
    for template in distinct.values():
        collection.update_one(
            {"_id": template.id},
            {
                "$setOnInsert": {
                    "subject": template.subject,
                    "html": template.html,
                    "text": template.text,
                    "created_at": now,
                }
            },
            upsert=True,
        )


def _row(email: Email, now) -> tuple[dict, Template | None]:
    """The row of one email (not yet stored) and its Template, if it has bodies."""
    record = types.get(email.email_type)
    row = {
        "key": email.key,
        "type": email.email_type,
        "to": email.recipient["email"],
        "attempts": 0,
        "events": [],
        "created_at": now,
        "next_attempt_at": now,
    }
    if record.urgent(email.context):
        row["urgent"] = True
    if email.recipient.get("user_id"):
        row["user_id"] = ObjectId(email.recipient["user_id"])
    stopped = gate(record, email.recipient)
    if stopped is not None:
        row["status"] = stopped
        return row, None
    data = load_data(email.email_type, email.recipient, email.context)
    composed = compose(email.email_type, email.recipient, data)
    due = record.due(data)
    if due is not None:
        row["due_at"] = due
    row.update(
        status="pending",
        template=composed.template.id,
        values=composed.values,
        headers=composed.headers,
        attachments=composed.attachments,
    )
    return row, composed.template


def _count(rows: list[dict]) -> None:
    """Report the rows written, by type and status, to the metrics."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        # A fan-out's rows are written already claimed: queued all the same.
        status = "pending" if row["status"] == "sending" else row["status"]
        counts[row["type"], status] = counts.get((row["type"], status), 0) + 1
    for (email_type, status), count in counts.items():
        stats.written(email_type, status, count)


def _enqueue(rows: list[dict], enqueue: bool) -> None:
    pending = [Pending(str(r["_id"]), r.get("urgent", False)) for r in rows]
    pending = [p for p, r in zip(pending, rows, strict=True) if r["status"] == "pending"]
    if not (pending and enqueue):
        return
    batch = _batch.get()
    if batch is not None:
        batch.extend(pending)
    else:
        enqueue_delivery_best_effort(pending)


def queue_to_recipient(
    email_type: str, key: str, recipient: dict, context: dict, *, enqueue: bool = True
) -> dict:
    """queue_email for a recipient dict (recipient_from_user's shape; `user_id` may be absent
    for an address that is no user); `enqueue=False` leaves delivery to the caller."""
    types.get(email_type)
    collection = get_db().email_log
    existing = collection.find_one({"key": key}, {"status": 1})
    if existing is not None:
        return _result(existing, created=False)
    row, template = _row(Email(email_type, key, recipient, context), clock.now())
    if template is not None:
        _store_templates([template])
    try:
        collection.insert_one(row)
    except DuplicateKeyError:
        # Another request queued the same key between our look-up and insert: theirs stands.
        return _result(collection.find_one({"key": key}, {"status": 1}), created=False)
    _count([row])
    _enqueue([row], enqueue)
    log.info("email %s queued: %s %s (%s)", row["_id"], email_type, key, row["status"])
    return _result(row, created=True)


def queue_email(email_type: str, key: str, user_id: str, context: dict) -> dict:
    """The one seam: gate, compose, write the row under `key`, enqueue delivery."""
    return queue_to_recipient(email_type, key, recipient_for_user(user_id), context or {})


class Prepared(NamedTuple):
    """A fan-out's rows, composed and not yet written, with their Templates."""

    rows: list[dict]
    templates: list[Template]


def prepare_many(emails: list[Email]) -> Prepared:
    """Gate and compose a fan-out's emails (the CPU part of `queue_many`; no database write),
    so a caller can compose the next step while the last one is written and sent."""
    now = clock.now()
    built = [_row(email, now) for email in emails]
    return Prepared(
        [row for row, _template in built],
        [template for _row_, template in built if template is not None],
    )


def write_many(prepared: Prepared, *, claim: bool = False) -> list[dict]:
    """The write of `queue_many` for prepared rows; returns the rows it created."""
    rows = prepared.rows
    if not rows:
        return []
    if claim:
        lease = delivery.claimed(clock.now())
        for row in rows:
            if row["status"] == "pending":
                row.update(lease)
    _store_templates(prepared.templates)
    collection = get_db().email_log
    try:
        collection.insert_many(rows, ordered=False)
        created = rows
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        skipped = {error["index"] for error in errors}
        created = [row for index, row in enumerate(rows) if index not in skipped]
    _count(created)
    if not claim:
        _enqueue(created, enqueue=True)
    log.info("%d email(s) queued of %d in a fan-out", len(created), len(rows))
    return created


def queue_many(emails: list[Email], *, claim: bool = False) -> list[dict]:
    """queue_to_recipient for many emails in one write (a fan-out): keys that exist already
    (written before, or by a run racing this one) keep their row and send nothing new.
    With `claim`, the rows to send are written already claimed, for the caller to send
    (delivery.send_claimed); else their delivery is enqueued. Returns the rows it created."""
    return write_many(prepare_many(emails), claim=claim)


def template_of(template_id: str) -> dict | None:
    """A stored Template document (cached: they never change)."""
    cached = _template_cache.get(template_id)
    if cached is None:
        cached = get_db().email_templates.find_one({"_id": template_id})
        if cached is not None:
            _template_cache[template_id] = cached
    return cached


def bodies(row: dict) -> tuple[str, str, str] | None:
    """(subject, html, text) of a row as it was (or will be) sent, or None without bodies."""
    if not row.get("template") or row.get("values") is None:
        return None
    stored = template_of(row["template"])
    if stored is None:
        return None
    template = Template(row["template"], stored["subject"], stored["html"], stored["text"])
    return fill(template, row["values"])


def with_bodies(row: dict) -> dict:
    """The row with `subject`, `html` and `text` as sent (None where it has no bodies)."""
    subject, html, text = bodies(row) or (None, None, None)
    return {**row, "subject": subject, "html": html, "text": text}


def forget_user(user_id: str) -> int:
    """For a deleted user: drop the bodies of their rows and stop unsent ones. Returns how
    many rows lost their bodies."""
    collection = get_db().email_log
    oid = ObjectId(str(user_id))
    collection.update_many(
        # A live send still records `sent` over this: its outcome write matches its lease token.
        {"user_id": oid, "status": {"$in": ["pending", "sending"]}},
        {"$set": {"status": "failed", "last_error": "user deleted before delivery"}},
    )
    stripped = collection.update_many(
        {"user_id": oid, "values": {"$exists": True}},
        {"$unset": dict.fromkeys(BODY_FIELDS, "")},
    )
    return stripped.modified_count
