"""Delivery of outbox rows: lease each row, call the provider, record the outcome.

The lease (`pending` and due, or `sending` with an expired lease → `sending` with a fresh lease
and token) is the only gate to the provider, so running a delivery twice, from two workers at
once, or early, sends nothing twice: a key already `sent` is never leased again and a row waiting
for its retry time is not due. Outcomes are written only while the lease token still matches.

Retry timeline (transient: 429, 5xx, timeouts, connection errors): attempt 1 at once, then
+30 s, +2 min, +10 min, +30 min (a 429 waits for its X-RateLimit-Reset instead); a transient
failure of the 5th attempt marks the row `failed`. Other 4xx are `failed` after one attempt.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

import pymongo.errors
import redis
from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app
from pymongo import ReturnDocument

from app import clock, shutdown
from app.db import get_db
from app.email.providers import Outcome, get_provider
from app.queue import enqueue
from app.redis import RedisNotConfigured

log = logging.getLogger(__name__)

DELIVER_TASK = "app.jobs.emails.deliver_emails_task"
MAX_ATTEMPTS = 5
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
# Rows per delivery job: 500 queued at once go out in 10 jobs. Kept small enough that a batch
# of normal sends finishes well inside the job timeout (the jobs table).
BATCH_SIZE = 50
# Hosts' clocks differ by milliseconds: a row written "now" on a web dyno must be due for the
# worker that dequeues it a moment later. A 429's reset is stored this much later to compensate.
DUE_TOLERANCE = timedelta(seconds=1)
# Catch-up leaves a due row this long to the job already scheduled for it.
CATCH_UP_GRACE = timedelta(minutes=1)
CATCH_UP_LIMIT = 5000
REDIS_ERRORS = (redis.RedisError, RedisNotConfigured)
UNREACHABLE = (pymongo.errors.ConnectionFailure, pymongo.errors.ExecutionTimeout)
# An outcome write retried against an unreachable MongoDB stops this long before the lease ends.
LEASE_MARGIN = timedelta(seconds=10)


def lease_duration() -> timedelta:
    """How long a worker holds a row: well past the provider timeout, so a live send is never
    taken over."""
    return timedelta(seconds=3 * current_app.config["SENDGRID_TIMEOUT_S"] + 60)


class Pending(NamedTuple):
    """A row to deliver: its id, and whether its type says it is urgent (its own queue)."""

    id: str
    urgent: bool = False


def _pending(doc: dict) -> Pending:
    return Pending(str(doc["_id"]), bool(doc.get("urgent")))


def enqueue_delivery(rows: list[Pending], at: datetime | None = None) -> list[str]:
    """Enqueue delivery of rows in jobs of BATCH_SIZE, urgent ones apart; raises on Redis
    errors (callers decide whether that is fatal). Returns the job ids."""
    by_urgency: dict[bool, list[str]] = {}
    for row in rows:
        by_urgency.setdefault(row.urgent, []).append(row.id)
    job_ids = []
    for urgent, ids in by_urgency.items():
        for start in range(0, len(ids), BATCH_SIZE):
            job = enqueue(DELIVER_TASK, ids[start : start + BATCH_SIZE], at=at, urgent=urgent)
            job_ids.append(job.id)
    return job_ids


def enqueue_delivery_best_effort(rows: list[Pending], at: datetime | None = None) -> bool:
    """enqueue_delivery that survives a Redis outage: the rows stay `pending` in MongoDB and the
    catch-up sends them once Redis is back. Returns whether the jobs were enqueued."""
    if not rows:
        return True
    try:
        enqueue_delivery(rows, at=at)
    except REDIS_ERRORS as exc:
        log.warning(
            "email delivery not enqueued (%s: %s); %d row(s) stay pending for the catch-up",
            type(exc).__name__,
            exc,
            len(rows),
        )
        return False
    return True


def _lease(collection, row_id: ObjectId, now: datetime, count_attempt: bool) -> dict | None:
    update = {
        "$set": {
            "status": "sending",
            "lease_until": now + lease_duration(),
            "lease_token": uuid.uuid4().hex,
        }
    }
    if count_attempt:
        # Counted when the attempt starts, so a worker that dies mid-send still used it up.
        update["$inc"] = {"attempts": 1}
    return collection.find_one_and_update(
        {
            "_id": row_id,
            "attempts": {"$lt": MAX_ATTEMPTS},
            "$or": [
                {"status": "pending", "next_attempt_at": {"$lte": now + DUE_TOLERANCE}},
                {"status": "sending", "lease_until": {"$lt": now}},
            ],
        },
        update,
        return_document=ReturnDocument.AFTER,
    )


def _record(collection, row: dict, outcome: Outcome, provider_name: str, now: datetime) -> dict:
    """Write the outcome while our lease holds; returns {status, next_attempt_at?}."""
    fields: dict = {"provider": provider_name}
    result: dict = {}
    if outcome.kind == "sent":
        fields.update(status="sent", sent_at=now)
        if outcome.message_id:
            fields["provider_message_id"] = outcome.message_id
    elif outcome.kind == "skipped":
        fields["status"] = "skipped"
    elif outcome.kind == "retry" and row["attempts"] < MAX_ATTEMPTS:
        wait = BACKOFF[min(row["attempts"], len(BACKOFF)) - 1]
        if outcome.retry_at is not None:
            next_at = max(outcome.retry_at + DUE_TOLERANCE, now)
        else:
            next_at = now + wait
        fields.update(status="pending", next_attempt_at=next_at, last_error=outcome.error)
        result["next_attempt_at"] = next_at
    else:
        error = outcome.error
        if outcome.kind == "retry":
            error = f"gave up after {row['attempts']} attempts; last: {outcome.error}"
        fields.update(status="failed", last_error=error)
    written = _write_while_leased(
        collection,
        row,
        {"$set": fields, "$unset": {"lease_until": "", "lease_token": ""}},
    )
    if written.matched_count == 0:
        log.warning("email %s: lease lost before its outcome was recorded", row["_id"])
        return {"status": "lease_lost"}
    result["status"] = "retry_scheduled" if fields["status"] == "pending" else fields["status"]
    return result


def _write_while_leased(collection, row: dict, update: dict):
    """The outcome write, retried while MongoDB is unreachable and our lease still has time
    (the provider has already answered: giving up now would send the email again later)."""
    remaining = (row["lease_until"] - clock.now()).total_seconds() - LEASE_MARGIN.total_seconds()
    deadline = time.monotonic() + max(remaining, 0)
    pause = 0.5
    while True:
        try:
            return collection.update_one(
                {"_id": row["_id"], "lease_token": row["lease_token"]}, update
            )
        except UNREACHABLE as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("email %s: outcome not recorded yet (%s); retrying", row["_id"], exc)
            time.sleep(pause)
            pause = min(pause * 2, 5)


def _defer(collection, row_id: ObjectId, until: datetime, now: datetime) -> dict | None:
    """Move a due pending row to `until` without an attempt (the provider just failed)."""
    return collection.find_one_and_update(
        {"_id": row_id, "status": "pending", "next_attempt_at": {"$lte": now + DUE_TOLERANCE}},
        {"$set": {"next_attempt_at": until}},
        projection={"urgent": 1},
    )


def _object_ids(ids) -> list[ObjectId]:
    valid = []
    for raw in ids:
        try:
            valid.append(ObjectId(str(raw)))
        except InvalidId:
            log.warning("email delivery: %r is not an email_log id; ignored", raw)
    return valid


def _hand_back(collection, ids: list[ObjectId]) -> list[str]:
    """The process is about to be stopped: queue the rows not yet started in a new job (they
    are still `pending`, so any worker can take them) and return their ids."""
    rows = [_pending(doc) for doc in collection.find({"_id": {"$in": ids}}, {"urgent": 1})]
    enqueue_delivery_best_effort(rows)
    log.warning("shutting down: %d email(s) handed back to the queue", len(rows))
    return [row.id for row in rows]


def deliver(email_log_ids, now: datetime | None = None) -> dict:
    """Deliver a batch of outbox rows; returns {status, counts, rows}. After a transient failure
    the rest of the batch waits with it (no attempt used) and one job is scheduled for them."""
    collection = get_db().email_log
    provider = get_provider()
    rows: dict[str, str] = {}
    retry: list[Pending] = []
    retry_at: datetime | None = None
    ids = _object_ids(email_log_ids)
    for position, row_id in enumerate(ids):
        if shutdown.announced():
            handed_back = _hand_back(collection, ids[position:])
            rows.update(dict.fromkeys(handed_back, "handed_back"))
            break
        # Read per row: a batch takes a while, and each lease must run from when it is taken.
        moment = now or clock.now()
        if retry_at is not None:
            deferred = _defer(collection, row_id, retry_at, moment)
            if deferred is not None:
                retry.append(_pending(deferred))
                rows[str(row_id)] = "retry_scheduled"
            else:
                rows[str(row_id)] = "not_due"
            continue
        row = _lease(collection, row_id, moment, provider.counts_attempts)
        if row is None:
            # Already sent or final, leased by another worker, or waiting for its retry time.
            rows[str(row_id)] = "not_due"
            continue
        if all(row.get(field) for field in ("subject", "html", "text")):
            outcome = provider.send(row)
        else:
            outcome = Outcome("failed", error="the row has no body (its user was deleted)")
        recorded = _record(collection, row, outcome, provider.name, now or clock.now())
        rows[str(row_id)] = recorded["status"]
        if recorded["status"] == "retry_scheduled":
            retry.append(_pending(row))
            retry_at = recorded["next_attempt_at"]
            log.info("email %s: attempt %d failed (%s)", row_id, row["attempts"], outcome.error)
        elif recorded["status"] == "failed":
            log.warning("email %s failed: %s", row_id, outcome.error)
    if retry:
        enqueue_delivery_best_effort(retry, at=retry_at)
    counts: dict[str, int] = {}
    for status in rows.values():
        counts[status] = counts.get(status, 0) + 1
    if "handed_back" in counts:
        summary = "handed_back"
    elif "retry_scheduled" in counts:
        summary = "retry_scheduled"
    elif len(counts) == 1:
        summary = next(iter(counts))
    else:
        summary = "done"
    return {"status": summary, "counts": counts, "rows": rows}


def catch_up(now: datetime | None = None, grace: timedelta = CATCH_UP_GRACE) -> dict:
    """Re-enqueue `pending` rows overdue by more than `grace` and `sending` rows whose lease
    expired (never a row still waiting for its retry time); fail expired leases that had used
    the last attempt. The 5-minute job calls this; after Redis lost its jobs, with no grace."""
    now = now or clock.now()
    collection = get_db().email_log
    exhausted = collection.update_many(
        {"status": "sending", "lease_until": {"$lt": now}, "attempts": {"$gte": MAX_ATTEMPTS}},
        {
            "$set": {"status": "failed", "last_error": "lease expired during the last attempt"},
            "$unset": {"lease_until": "", "lease_token": ""},
        },
    )
    due = collection.find(
        {
            "$or": [
                {"status": "pending", "next_attempt_at": {"$lte": now - grace}},
                {"status": "sending", "lease_until": {"$lt": now}},
            ]
        },
        {"urgent": 1},
    )
    due = due.sort("next_attempt_at", 1).limit(CATCH_UP_LIMIT)
    rows = [_pending(doc) for doc in due]
    if rows:
        enqueue_delivery(rows)
        log.info("email catch-up: %d row(s) re-enqueued", len(rows))
    # Rows leased right now: a live worker finishes them; if it died, one job taken when the
    # last of those leases ends sends what is left (a no-op when the worker was fine).
    leased = list(
        collection.find(
            {"status": "sending", "lease_until": {"$gte": now}}, {"urgent": 1, "lease_until": 1}
        ).limit(CATCH_UP_LIMIT)
    )
    if leased:
        ends = max(doc["lease_until"] for doc in leased) + DUE_TOLERANCE
        enqueue_delivery([_pending(doc) for doc in leased], at=ends)
    return {
        "status": "ok",
        "requeued": len(rows),
        "chased": len(leased),
        "failed": exhausted.modified_count,
    }
