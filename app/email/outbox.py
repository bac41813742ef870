"""The seam every email goes through: `queue_email(email_type, key, user_id, context)`.

It checks suppression (`email_status` bounced or complained → a `suppressed` row) and
preferences (a type whose category is not critical, for a user with notifications off → an
`opted_out` row), neither with bodies; otherwise renders and writes the `pending` row under its
unique `key`, then enqueues delivery best-effort (Redis down → the row stays `pending` and the
catch-up sends it). A key that already exists returns its row and sends nothing new. Returns
`{"id": <email_log id>, "status": <row status>, "created": <bool>}`.

Flows do not call this with keys of their own: they call the function of app/email/send.py for
their email, which builds the key from the type's record. Fan-outs wrap their loop in
`with delivery_batch():` so the rows go out in jobs of `delivery.BATCH_SIZE`, not one job each.
"""

import contextlib
import contextvars
import logging

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app import clock
from app.db import get_db
from app.email import types
from app.email.delivery import Pending, enqueue_delivery_best_effort
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
    if not record.critical and not recipient.get("email_notifications", True):
        return "opted_out"
    return None


def queue_to_recipient(
    email_type: str, key: str, recipient: dict, context: dict, *, enqueue: bool = True
) -> dict:
    """queue_email for a recipient dict (recipient_from_user's shape; `user_id` may be absent
    for an address that is no user); `enqueue=False` leaves delivery to the caller."""
    record = types.get(email_type)
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
    if record.urgent(context):
        row["urgent"] = True
    if recipient.get("user_id"):
        row["user_id"] = ObjectId(recipient["user_id"])
    stopped = gate(record, recipient)
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
        pending = Pending(str(row["_id"]), row.get("urgent", False))
        batch = _batch.get()
        if batch is not None:
            batch.append(pending)
        else:
            enqueue_delivery_best_effort([pending])
    log.info("email %s queued: %s %s (%s)", row["_id"], email_type, key, row["status"])
    return _result(row, created=True)


def queue_email(email_type: str, key: str, user_id: str, context: dict) -> dict:
    """The one seam: gate, render, write the row under `key`, enqueue delivery."""
    return queue_to_recipient(email_type, key, recipient_for_user(user_id), context or {})


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
        {"user_id": oid, "subject": {"$exists": True}},
        {"$unset": dict.fromkeys(BODY_FIELDS, "")},
    )
    return stripped.modified_count
