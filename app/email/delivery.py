"""Delivery of outbox rows: claim a unit of rows under one lease, send it, record the outcome.

A delivery job gets up to BATCH_SIZE row ids. Rows that share a Template and carry no
attachment go as personalizations of one SendGrid request (up to SENDGRID_BATCH_SIZE each);
the others as one request each, SENDGRID_CONCURRENCY at a time. Each unit is claimed right
before it is sent: one write takes its rows that are `pending` and due (or `sending` with an
expired lease) to `sending` with a fresh lease token, counting an attempt, and one read gets
them back by the token. The claim is the only way to the provider, so running a delivery twice,
from two workers at once or early sends nothing twice; outcomes are written only under the
token. A fan-out that writes its rows itself can insert them already claimed (`claimed()`).

Provider outages delay email and never lose it. A 429 waits for its X-RateLimit-Reset, a 5xx,
timeout or connection error backs off (30 s, 2 min, 10 min, then every 30 min); neither uses
an attempt (the attempt counted at the claim is given back), and the circuit breaker holds every
sender back for that long. A row gives up only on a permanent answer (another 4xx; a request of
several recipients is first split, so one bad address fails alone), after MAX_ATTEMPTS claims
that ended without an answer (a message that kills its worker), or when the outage outlasts
EMAIL_RETRY_BUDGET_H from its creation (or its last re-drive). An admin can re-drive a failed
row: same key, sent at most once more.
"""

import logging
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import NamedTuple

import pymongo.errors
import redis
from bson import ObjectId
from bson.errors import InvalidId
from flask import current_app

from app import clock, shutdown
from app.db import get_db, in_chunks
from app.email import breaker, preferences, stats
from app.email.providers import MAX_PERSONALIZATIONS, Bodies, Outcome, get_provider
from app.email.render import fill
from app.queue import enqueue
from app.redis import RedisNotConfigured

log = logging.getLogger(__name__)

DELIVER_TASK = "app.jobs.emails.deliver_emails_task"
# A crash or permanent answer per claim; provider outages do not count.
MAX_ATTEMPTS = 5
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
# Rows one Sender handles: a delivery job's ids, or one step of a fan-out that writes its rows
# already claimed (10,000 reminders are 10 steps). The jobs table's timeout bounds a job.
BATCH_SIZE = MAX_PERSONALIZATIONS
# Hosts' clocks differ by milliseconds: a row written "now" on a web dyno must be due for the
# worker that dequeues it a moment later. A 429's reset is stored this much later to compensate.
DUE_TOLERANCE = timedelta(seconds=1)
# Catch-up leaves a due row this long to the job already scheduled for it.
CATCH_UP_GRACE = timedelta(minutes=1)
CATCH_UP_LIMIT = 5000
REDIS_ERRORS = (redis.RedisError, RedisNotConfigured)
UNREACHABLE = (pymongo.errors.ConnectionFailure, pymongo.errors.ExecutionTimeout)
LEASE_MARGIN = timedelta(seconds=10)
# How long an outcome is retried against an unreachable MongoDB (well inside the job timeout).
# The write only lands under the row's own lease token, so retrying past the lease is safe: if
# another worker took the row over meanwhile, the write matches nothing.
OUTCOME_RETRY = timedelta(minutes=2)
LEASE_FIELDS = {"lease_until": "", "lease_token": ""}


class Pending(NamedTuple):
    """A row to deliver: its id, and whether its type says it is urgent (its own queue)."""

    id: str
    urgent: bool = False


def _pending(doc: dict) -> Pending:
    return Pending(str(doc["_id"]), bool(doc.get("urgent")))


def lease_duration() -> timedelta:
    """How long one claimed unit is held: two provider timeouts and a margin, so a live send
    is never taken over, and a dead worker's unit goes out soon after."""
    return timedelta(seconds=2 * current_app.config["SENDGRID_TIMEOUT_S"]) + LEASE_MARGIN


def enqueue_delivery(rows: list[Pending], at: datetime | None = None) -> list[str]:
    """Enqueue delivery of rows in jobs of BATCH_SIZE, urgent ones apart; raises on Redis
    errors (callers decide whether that is fatal). Returns the job ids."""
    by_urgency: dict[bool, list[str]] = {}
    for row in rows:
        by_urgency.setdefault(row.urgent, []).append(row.id)
    job_ids = []
    for urgent, ids in by_urgency.items():
        for batch in in_chunks(ids, BATCH_SIZE):
            job_ids.append(enqueue(DELIVER_TASK, batch, at=at, urgent=urgent).id)
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


def claimed(now: datetime) -> dict:
    """The fields of a row inserted already claimed by this process (a fan-out that sends the
    rows it writes): use `send_claimed` with the same token right after the insert."""
    return {
        "status": "sending",
        "lease_token": uuid.uuid4().hex,
        "lease_until": now + lease_duration(),
        "attempts": 1,
    }


def _claim(collection, ids: list[ObjectId], now: datetime, count: bool = True) -> list[dict]:
    """Claim the due rows among `ids` under one new token (counting an attempt unless `count`
    is false: nothing will be sent); returns them, claimed."""
    token = uuid.uuid4().hex
    for chunk in in_chunks(ids):
        collection.update_many(
            {
                "_id": {"$in": chunk},
                "attempts": {"$lt": MAX_ATTEMPTS},
                "$or": [
                    {"status": "pending", "next_attempt_at": {"$lte": now + DUE_TOLERANCE}},
                    {"status": "sending", "lease_until": {"$lt": now}},
                ],
            },
            {
                "$set": {
                    "status": "sending",
                    "lease_until": now + lease_duration(),
                    "lease_token": token,
                },
                # Counted when the attempt starts, so a worker that dies mid-send used it up.
                "$inc": {"attempts": 1 if count else 0},
            },
        )
    return list(collection.find({"lease_token": token}))


def _write(collection, rows: list[dict], update: dict, whole: bool = False) -> int:
    """Write `update` to `rows` under their lease token (`whole`: they are every row of that
    token, so the token alone finds them); retried for OUTCOME_RETRY while MongoDB is
    unreachable (the provider may have answered already: giving up would send the email again
    later). Returns how many rows it matched."""
    if not rows:
        return 0
    token = rows[0]["lease_token"]
    deadline = time.monotonic() + OUTCOME_RETRY.total_seconds()
    matched, pause = 0, 0.25
    # By token alone is one index walk; an `$in` of ids costs the server per document.
    filters = (
        [{"lease_token": token}]
        if whole
        else [
            {"_id": {"$in": chunk}, "lease_token": token}
            for chunk in in_chunks([row["_id"] for row in rows])
        ]
    )
    for query in filters:
        while True:
            try:
                result = collection.update_many(query, update)
                matched += result.matched_count
                break
            except UNREACHABLE as exc:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("email outcomes not recorded yet (%s); retrying", exc)
                time.sleep(pause)
                pause = min(pause * 2, 1)
    if matched < len(rows):
        log.warning("%d email(s): lease lost before the outcome was recorded", len(rows) - matched)
    return matched


def _release(
    collection, rows: list[dict], until: datetime, error: str | None = None, whole: bool = False
) -> None:
    """Hand rows back unsent, due at `until`, their claim's attempt given back."""
    fields: dict = {"status": "pending", "next_attempt_at": until}
    if error:
        fields["last_error"] = error
    _write(
        collection,
        rows,
        {
            "$set": fields,
            "$inc": {"attempts": -1, "outages": 1 if error else 0},
            "$unset": LEASE_FIELDS,
        },
        whole,
    )


def _budget_end(row: dict) -> datetime:
    hours = current_app.config["EMAIL_RETRY_BUDGET_H"]
    return row.get("retry_from", row["created_at"]) + timedelta(hours=hours)


def _retry_at(row: dict, outcome: Outcome, now: datetime) -> datetime:
    if outcome.retry_at is not None:
        return max(outcome.retry_at + DUE_TOLERANCE, now)
    return now + BACKOFF[min(row.get("outages", 0), len(BACKOFF) - 1)]


class Result:
    """What one delivery did, per row: the job's return value."""

    def __init__(self):
        self.rows: dict[str, str] = {}
        self.retry: list[Pending] = []
        self.retry_at: datetime | None = None

    def mark(self, rows: Iterable[dict], status: str) -> None:
        for row in rows:
            self.rows[str(row["_id"])] = status

    def later(self, rows: list[dict], at: datetime) -> None:
        self.retry.extend(_pending(row) for row in rows)
        self.retry_at = max(at, self.retry_at) if self.retry_at else at

    def summary(self) -> dict:
        counts: dict[str, int] = {}
        for status in self.rows.values():
            counts[status] = counts.get(status, 0) + 1
        for summary in ("handed_back", "retry_scheduled"):
            if summary in counts:
                break
        else:
            summary = next(iter(counts)) if len(counts) == 1 else "done"
        return {"status": summary, "counts": counts, "rows": self.rows}


class Sender:
    """Sends claimed rows and records what happened; one per delivery job."""

    def __init__(self, now: datetime | None = None):
        self.collection = get_db().email_log
        self.provider = get_provider()
        self.now = now
        self.result = Result()
        self._stopped_until: datetime | None = None
        self._templates: dict[str, Bodies] = {}
        # Rows per lease token this sender holds: a write to all of them needs no id list.
        self._holders: dict[str, int] = {}

    def hold(self, rows: list[dict]) -> list[dict]:
        """Note rows claimed under one token (every row of that token); returns them."""
        for row in rows:
            token = row["lease_token"]
            self._holders[token] = self._holders.get(token, 0) + 1
        return rows

    def _whole(self, rows: list[dict]) -> bool:
        return self._holders.get(rows[0]["lease_token"]) == len(rows)

    def _report(self, rows: list[dict], status: str) -> None:
        """The outcome of an attempt at `rows`: in the job's result and the metrics."""
        self.result.mark(rows, status)
        stats.delivered(rows, status, self.moment())

    def _put(self, rows: list[dict], update: dict) -> None:
        _write(self.collection, rows, update, self._whole(rows))

    def _release(self, rows: list[dict], until: datetime, error: str | None = None) -> None:
        _release(self.collection, rows, until, error, self._whole(rows))

    def moment(self) -> datetime:
        return self.now or clock.now()

    def _template(self, template_id: str) -> Bodies | None:
        if template_id not in self._templates:
            stored = get_db().email_templates.find_one({"_id": template_id})
            if stored is None:
                return None
            self._templates[template_id] = Bodies(stored["subject"], stored["html"], stored["text"])
        return self._templates[template_id]

    def _bodies(self, row: dict) -> Bodies | None:
        template = self._template(row["template"]) if row.get("template") else None
        if template is None or row.get("values") is None:
            return None
        return Bodies(*fill(template, row["values"]))

    def units(self, rows: list[dict]) -> list[list[dict]]:
        """Requests to make: rows sharing a Template (no attachment) together, the rest alone."""
        groups: dict[str, list[dict]] = {}
        singles: list[list[dict]] = []
        size = min(current_app.config["SENDGRID_BATCH_SIZE"], MAX_PERSONALIZATIONS)
        for row in rows:
            if row.get("template") and not row.get("attachments"):
                groups.setdefault(row["template"], []).append(row)
            else:
                singles.append([row])
        units = []
        for members in groups.values():
            if len(members) == 1:
                singles.append(members)
            else:
                units.extend(list(in_chunks(members, size)))
        return units + singles

    def send(self, unit: list[dict]) -> None:
        """Send one claimed unit (unless the provider is held back) and record the outcome."""
        now = self.moment()
        until = self._stopped_until or breaker.open_until(now)
        if until is not None:
            self._defer(unit, until)
            return
        if len(unit) > 1:
            template = self._template(unit[0]["template"])
            outcome = self.provider.post(self.provider.personalized(unit, template))
        else:
            bodies = self._bodies(unit[0])
            if bodies is None:
                self._record(unit, Outcome("failed", error="the row has no body"))
                return
            outcome = self.provider.post(self.provider.single(unit[0], bodies))
        if outcome.kind == "failed" and len(unit) > 1:
            # One bad address fails a whole request: send them one by one instead.
            for row in unit:
                self.send([row])
            return
        self._record(unit, outcome)

    def _defer(self, rows: list[dict], until: datetime) -> None:
        self._release(rows, until)
        self.result.mark(rows, "retry_scheduled")
        self.result.later(rows, until)

    def _record(self, rows: list[dict], outcome: Outcome) -> None:
        now = self.moment()
        base = {"provider": self.provider.name}
        if outcome.kind == "sent":
            fields = {**base, "status": "sent", "sent_at": now}
            if outcome.message_id:
                fields["provider_message_id"] = outcome.message_id
            self._put(rows, {"$set": fields, "$unset": LEASE_FIELDS})
            self._report(rows, "sent")
            breaker.close()
        elif outcome.kind == "skipped":
            self._put(
                rows,
                {"$set": {**base, "status": "skipped"}, "$unset": LEASE_FIELDS},
            )
            self._report(rows, "skipped")
        elif outcome.kind == "retry":
            self._retry(rows, outcome, now)
        else:
            fields = {**base, "status": "failed", "last_error": outcome.error}
            self._put(rows, {"$set": fields, "$unset": LEASE_FIELDS})
            self._report(rows, "failed")
            for row in rows:
                log.warning("email %s failed: %s", row["_id"], outcome.error)

    def _retry(self, rows: list[dict], outcome: Outcome, now: datetime) -> None:
        at = max(_retry_at(row, outcome, now) for row in rows)
        waiting = [row for row in rows if at <= _budget_end(row)]
        expired = [row for row in rows if at > _budget_end(row)]
        if waiting:
            self._release(waiting, at, error=outcome.error)
            self._report(waiting, "retry_scheduled")
            self.result.later(waiting, at)
            log.info("%d email(s) wait until %s: %s", len(waiting), at, outcome.error)
        if expired:
            hours = current_app.config["EMAIL_RETRY_BUDGET_H"]
            error = f"gave up after {hours:g} h of provider errors; last: {outcome.error}"
            fields = {"provider": self.provider.name, "status": "failed", "last_error": error}
            # The outage is no fault of the message: its attempt is given back here too.
            update = {"$set": fields, "$inc": {"attempts": -1}, "$unset": LEASE_FIELDS}
            self._put(expired, update)
            self._report(expired, "failed")
        # Nobody calls the provider before it said, or before the backoff ends.
        self._stopped_until = at
        breaker.trip(at)

    def run(self, units: list[list[dict]], claim=None) -> None:
        """Send the units (claiming each first when `claim` is given), SENDGRID_CONCURRENCY at
        a time; between two units, a shutdown hands the rest back."""
        concurrency = max(1, current_app.config["SENDGRID_CONCURRENCY"])
        app = current_app._get_current_object()

        def work(unit: list[dict]) -> None:
            with app.app_context():
                if shutdown.announced():
                    self._hand_back(unit, claimed=claim is None)
                    return
                rows = claim(unit) if claim is not None else unit
                if rows:
                    self.send(rows)

        if concurrency == 1 or len(units) == 1:
            for unit in units:
                work(unit)
            return
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for future in [pool.submit(work, unit) for unit in units]:
                future.result()

    def _hand_back(self, unit: list[dict], claimed: bool) -> None:
        now = self.moment()
        if claimed:
            self._release(unit, now)
        self.result.mark(unit, "handed_back")
        self.result.later(unit, now)
        log.warning("shutting down: %d email(s) handed back to the queue", len(unit))

    def finish(self) -> dict:
        """Schedule what waits, then the summary."""
        if self.result.retry:
            at = self.result.retry_at
            enqueue_delivery_best_effort(self.result.retry, at=at if at > self.moment() else None)
        return self.result.summary()


def _object_ids(ids) -> list[ObjectId]:
    valid = []
    for raw in ids:
        try:
            valid.append(ObjectId(str(raw)))
        except InvalidId:
            log.warning("email delivery: %r is not an email_log id; ignored", raw)
    return valid


def deliver(email_log_ids, now: datetime | None = None) -> dict:
    """Deliver a batch of outbox rows; returns {status, counts, rows}."""
    sender = Sender(now)
    ids = _object_ids(email_log_ids)
    shapes = []
    fields = {"template": 1, "attachments": 1, "type": 1, "user_id": 1}
    for chunk in in_chunks(ids):
        shapes.extend(sender.collection.find({"_id": {"$in": chunk}}, fields))
    found = {doc["_id"] for doc in shapes}
    sender.result.mark([{"_id": i} for i in ids if i not in found], "not_due")
    # Preferences as they are now: a row queued before its category was turned off stops.
    withdrawn = preferences.withdraw_opted_out(sender.collection, shapes, sender.moment())
    sender.result.mark([{"_id": i} for i in withdrawn], "opted_out")
    shapes = [doc for doc in shapes if doc["_id"] not in withdrawn]

    def claim(unit: list[dict]) -> list[dict]:
        ids = [doc["_id"] for doc in unit]
        rows = sender.hold(
            _claim(sender.collection, ids, sender.moment(), sender.provider.counts_attempts)
        )
        taken = {row["_id"] for row in rows}
        # Already sent or final, leased by another worker, or waiting for its retry time.
        sender.result.mark([doc for doc in unit if doc["_id"] not in taken], "not_due")
        return rows

    sender.run(sender.units(shapes), claim=claim)
    return sender.finish()


def send_claimed(rows: list[dict], now: datetime | None = None) -> dict:
    """Deliver rows this process inserted already claimed (see `claimed`)."""
    sender = Sender(now)
    sender.run(sender.units(sender.hold(rows)))
    return sender.finish()


def redrive(ids: list[str] | None = None, email_type: str | None = None, since=None) -> int:
    """Make failed rows pending again (same key: each is sent at most once more) and enqueue
    them; by ids, or every failed row of a type and/or since a time. Returns how many."""
    query: dict = {"status": "failed"}
    if ids is not None:
        query["_id"] = {"$in": _object_ids(ids)}
    if email_type:
        query["type"] = email_type
    if since is not None:
        query["created_at"] = {"$gte": since}
    collection = get_db().email_log
    rows = list(collection.find(query, {"urgent": 1, "values": 1}).limit(CATCH_UP_LIMIT))
    rows = [row for row in rows if row.get("values") is not None]  # no body, nothing to send
    now = clock.now()
    for chunk in in_chunks([row["_id"] for row in rows]):
        collection.update_many(
            {"_id": {"$in": chunk}, "status": "failed"},
            {
                "$set": {
                    "status": "pending",
                    "attempts": 0,
                    "outages": 0,
                    "next_attempt_at": now,
                    "retry_from": now,
                },
            },
        )
    enqueue_delivery_best_effort([_pending(row) for row in rows])
    log.info("email re-drive: %d failed row(s) pending again", len(rows))
    return len(rows)


def catch_up(now: datetime | None = None, grace: timedelta = CATCH_UP_GRACE) -> dict:
    """Re-enqueue `pending` rows overdue by more than `grace` and `sending` rows whose lease
    expired (never a row still waiting for its retry time); fail expired leases that had used
    the last attempt; chase live leases. The 5-minute job calls this; with no grace when no job
    can be in flight (a worker starting, Redis restored)."""
    now = now or clock.now()
    collection = get_db().email_log
    exhausted = collection.update_many(
        {"status": "sending", "lease_until": {"$lt": now}, "attempts": {"$gte": MAX_ATTEMPTS}},
        {
            "$set": {"status": "failed", "last_error": "lease expired during the last attempt"},
            "$unset": LEASE_FIELDS,
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
    rows = [_pending(doc) for doc in due.sort("next_attempt_at", 1).limit(CATCH_UP_LIMIT)]
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
