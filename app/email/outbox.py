"""The seam every flow sends email through: `queue_email(email_type, key, user_id, context)`.

It checks suppression (`email_status` bounced or complained → a `suppressed` row) and
preferences (types that respect `email_notifications` → an `opted_out` row), neither with
bodies; otherwise renders and writes the `pending` row under its unique `key`, then enqueues
delivery best-effort (Redis down → the row stays `pending` and the catch-up sends it). A key
that already exists returns its row and sends nothing new. Returns
`{"id": <email_log id>, "status": <row status>, "created": <bool>}`.

Contexts and keys, per type (DESIGN 7):

- `welcome`: `{"verify_url": str}` (optional), key `welcome:<user_id>`
- `password_reset`: `{"reset_url": str}`, key `password-reset:<user_id>:<token id>`
- `goal_milestone`: `{"goal_id": str, "index": int}`, key `milestone:<goal_id>:<index>`
- `meeting_invitation`: `{"meeting_id": str}`, key `invitation:<meeting_id>:<sequence>`
  (sequence > 0 renders as an update; ICS METHOD:REQUEST)
- `meeting_cancellation`: `{"meeting_id": str}`, key `cancellation:<meeting_id>:<sequence>`
  (ICS METHOD:CANCEL)
- `meeting_reminder`: `{"meeting_id": str, "kind": "24h" | "1h"}`, key
  `reminder-24h:<meeting_id>:<epoch of scheduled_at>` or `reminder-1h:…`
- `phase_transition`: `{}` or `{"meeting_id": str}` (the first meeting; without it the user's
  next scheduled meeting is shown), key `phase:<user_id>:tracking`

Fan-outs wrap their loop in `with delivery_batch():` so the rows go out in jobs of
`delivery.BATCH_SIZE` instead of one job each.
"""

import contextlib
import contextvars
import logging

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from app import clock
from app.db import get_db
from app.email import EMAIL_TYPES, respects_preferences
from app.email.delivery import enqueue_delivery_best_effort
from app.email.render import load_data, recipient_from_user, render_email
from app.errors import NotFound

log = logging.getLogger(__name__)

SUPPRESSED_STATUSES = ("bounced", "complained")
BODY_FIELDS = ("subject", "html", "text", "attachments", "headers")

_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("email_batch", default=None)


@contextlib.contextmanager
def delivery_batch():
    """Collect the deliveries of every email queued inside; enqueue them in batches on exit."""
    if _batch.get() is not None:
        yield  # an outer batch collects these too
        return
    collected: list[tuple[str, str]] = []
    token = _batch.set(collected)
    try:
        yield
    finally:
        _batch.reset(token)
        # Rows written before an exception are real: they are enqueued all the same.
        enqueue_delivery_best_effort(collected)


def _result(row: dict, created: bool) -> dict:
    return {"id": str(row["_id"]), "status": row["status"], "created": created}


def recipient_for_user(user_id: str) -> dict:
    """The recipient dict of a user id (NotFound when there is no such user)."""
    try:
        oid = ObjectId(str(user_id))
    except InvalidId as exc:
        raise NotFound(f"user {user_id!r} was not found") from exc
    user = get_db().users.find_one({"_id": oid})
    if user is None:
        raise NotFound(f"user {user_id} was not found")
    return recipient_from_user(user)


def gate(email_type: str, recipient: dict) -> str | None:
    """The status that stops this email before rendering (`suppressed`, `opted_out`), if any."""
    if recipient.get("email_status", "ok") in SUPPRESSED_STATUSES:
        return "suppressed"
    if respects_preferences(email_type) and not recipient.get("email_notifications", True):
        return "opted_out"
    return None


def queue_to_recipient(
    email_type: str, key: str, recipient: dict, context: dict, *, enqueue: bool = True
) -> dict:
    """queue_email for a recipient dict (recipient_from_user's shape; `user_id` may be absent
    for an address that is no user); `enqueue=False` leaves delivery to the caller."""
    if email_type not in EMAIL_TYPES:
        raise ValueError(f"unknown email type {email_type!r}")
    collection = get_db().email_log
    existing = collection.find_one({"key": key}, {"status": 1})
    if existing is not None:
        return _result(existing, created=False)
    now = clock.now()
    row = {
        "key": key,
        "type": email_type,
        "to": recipient["email"],
        "attempts": 0,
        "events": [],
        "created_at": now,
        "next_attempt_at": now,
    }
    if recipient.get("user_id"):
        row["user_id"] = ObjectId(recipient["user_id"])
    stopped = gate(email_type, recipient)
    if stopped is not None:
        row["status"] = stopped
    else:
        rendered = render_email(email_type, recipient, load_data(email_type, recipient, context))
        row.update(
            status="pending",
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            attachments=rendered.attachments,
            headers=rendered.headers,
        )
    try:
        collection.insert_one(row)
    except DuplicateKeyError:
        # Another request queued the same key between our look-up and insert: theirs stands.
        return _result(collection.find_one({"key": key}, {"status": 1}), created=False)
    if row["status"] == "pending" and enqueue:
        batch = _batch.get()
        if batch is not None:
            batch.append((str(row["_id"]), key))
        else:
            enqueue_delivery_best_effort([(str(row["_id"]), key)])
    log.info("email %s queued: %s %s (%s)", row["_id"], email_type, key, row["status"])
    return _result(row, created=True)


def queue_email(email_type: str, key: str, user_id: str, context: dict) -> dict:
    """The one seam flows call: gate, render, write the row under `key`, enqueue delivery."""
    return queue_to_recipient(email_type, key, recipient_for_user(user_id), context or {})


def forget_user(user_id: str) -> int:
    """For a deleted user: drop the bodies of their rows (DESIGN 5.3) and stop unsent ones.
    Returns how many rows lost their bodies."""
    collection = get_db().email_log
    oid = ObjectId(str(user_id))
    collection.update_many(
        # A live send still records `sent` over this: its outcome write matches its lease token.
        {"user_id": oid, "status": {"$in": ["pending", "sending"]}},
        {"$set": {"status": "failed", "last_error": "user deleted before delivery"}},
    )
    stripped = collection.update_many(
        {"user_id": oid, "subject": {"$exists": True}},
        {"$unset": dict.fromkeys(BODY_FIELDS, "")},
    )
    return stripped.modified_count
