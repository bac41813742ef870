"""Meeting reminders: one exact-time RQ job per kind and due second, catch-up sweeps, and the
email row as the claim.

With T = scheduled_at, a reminder of kind K (app/reminder_kinds.py) is due at T − lead and may
be sent while T − now ∈ [window_end, lead] (never before its due time). When a meeting is
created or its time moves, its reminders are scheduled with RQ's `enqueue_at` at their due
second under one job per kind and second (`job_id` below): the
meetings first booked at 09:00 local in one timezone share a job, which sends all of their
reminders together. A reminder already inside its window goes out at once; one past its window
never. Both recurring sweeps send whatever is inside its window and not sent yet, so a lost job
(flushed Redis, dead worker) is caught up.

Exactly once: a reminder is sent when its email row is written, under its idempotency key
(`reminder_key`: one per kind, meeting and start time; unique). Every path — the job, the
sweeps, a second worker racing the first — writes the rows of a batch in one insert; a key
written already keeps its row and nothing is sent for it again. A moved meeting has a new key;
a cancelled one is no longer `scheduled`. Rows are written already claimed and sent by the same
job, a personalized request per 1000 recipients; if the job dies, the outbox catch-up sends
what it left.
"""

import contextlib
import contextvars
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app import clock
from app.db import get_db, in_chunks
from app.email import delivery, outbox
from app.email.outbox import Email
from app.email.render import recipient_from_user
from app.email.send import reminder_key
from app.queue import enqueue
from app.redis import RedisNotConfigured, get_redis
from app.reminder_kinds import KINDS, Kind

log = logging.getLogger(__name__)

REMINDER_TASK = "app.jobs.meetings.send_due_reminders_task"


class SweepFailed(RuntimeError):
    """Some reminders of a sweep raised; the others were sent."""


def job_id(kind: str, due: datetime) -> str:
    """The exact-time job of every `kind` reminder due at `due` (a whole second)."""
    return f"reminders-{kind}-{int(due.timestamp())}"


def in_window(kind: Kind, start: datetime, now: datetime) -> bool:
    """True while a reminder may be sent: due, and not past its window."""
    return start - kind.lead <= now <= start - kind.window_end


def _schedule(kind: Kind, due: datetime, now: datetime) -> None:
    at = due if now < due else None
    try:
        enqueue(
            REMINDER_TASK,
            kind.name,
            int(due.timestamp()),
            job_id=job_id(kind.name, due),
            at=at,
            urgent=kind.urgent,
        )
    except (redis.RedisError, RedisNotConfigured) as exc:
        log.warning("reminders %s due %s not scheduled (sweeps catch up): %s", kind.name, due, exc)


def arm(meeting: dict, now: datetime | None = None) -> None:
    """Schedule the meeting's reminders at their due seconds (or at once inside a window);
    best-effort: without Redis the sweeps catch up."""
    now = now or clock.now()
    start = meeting["scheduled_at"]
    for kind in KINDS.values():
        if now <= start - kind.window_end:
            _schedule(kind, start - kind.lead, now)


def rearm_upcoming(now: datetime | None = None) -> int:
    """Schedule again the reminders of every future scheduled meeting (after Redis lost its
    scheduled jobs): one job per kind and due second. Returns how many jobs."""
    now = now or clock.now()
    starts = get_db().meetings.distinct(
        "scheduled_at", {"status": "scheduled", "scheduled_at": {"$gt": now}}
    )
    due = {
        (kind.name, start.astimezone(UTC) - kind.lead)
        for start in starts
        for kind in KINDS.values()
        if now <= start.astimezone(UTC) - kind.window_end
    }
    for kind_name, when in sorted(due):
        _schedule(KINDS[kind_name], when, now)
    return len(due)


def disarm(meeting: dict) -> None:
    """Remove the jobs of the meeting's reminders if no other meeting shares them (best-effort:
    a stale job finds the meeting moved or cancelled and sends nothing for it)."""
    start = meeting["scheduled_at"]
    others = get_db().meetings.find_one(
        {"status": "scheduled", "scheduled_at": start, "_id": {"$ne": meeting["_id"]}}, {"_id": 1}
    )
    if others is not None:
        return
    try:
        connection = get_redis()
        for kind in KINDS.values():
            with contextlib.suppress(NoSuchJobError):
                Job.fetch(job_id(kind.name, start - kind.lead), connection=connection).delete()
    except (redis.RedisError, RedisNotConfigured) as exc:
        log.warning("reminder jobs of %s not removed: %s", meeting["_id"], exc)


def _unsent(kind: Kind, meetings: list[dict]) -> list[tuple[dict, str]]:
    """(meeting, key) of the meetings whose `kind` reminder has no row yet."""
    keyed = [(m, reminder_key(kind.name, m["_id"], m["scheduled_at"])) for m in meetings]
    written = set()
    for keys in in_chunks([key for _meeting, key in keyed]):
        written.update(
            d["key"] for d in get_db().email_log.find({"key": {"$in": keys}}, {"key": 1})
        )
    return [(meeting, key) for meeting, key in keyed if key not in written]


def _users(meetings: list[dict]) -> dict:
    ids = list({m["user_id"] for m in meetings})
    users = {}
    for chunk in in_chunks(ids):
        for user in get_db().users.find({"_id": {"$in": chunk}}):
            users[user["_id"]] = user
    return users


# Steps written and sent at once while the next is composed: the worker's rendering, the
# database's writes and the provider's latency overlap instead of adding up.
STEPS_IN_FLIGHT = 2


def _write_and_send(prepared: outbox.Prepared) -> int:
    rows = outbox.write_many(prepared, claim=True)
    delivery.send_claimed([row for row in rows if row["status"] == "sending"])
    return len(rows)


def send_batch(kind: Kind, meetings: list[dict], now: datetime) -> int:
    """Write and send the `kind` reminders of `meetings` that are inside their window and not
    sent yet, delivery.BATCH_SIZE at a time; returns how many rows were written."""
    meetings = [
        m
        for m in meetings
        if m["status"] == "scheduled" and in_window(kind, m["scheduled_at"], now)
    ]
    todo = _unsent(kind, meetings)
    users = _users([meeting for meeting, _key in todo])
    written = 0
    failures: list[Exception] = []

    def failed(exc: Exception) -> None:
        # One bad step does not hold back the others; raised below.
        log.exception("reminders %s: a step could not be written or sent", kind.name)
        failures.append(exc)

    def settle(step: Future) -> None:
        nonlocal written
        try:
            written += step.result()
        except Exception as exc:
            failed(exc)

    app = current_app._get_current_object()

    def in_app(prepared: outbox.Prepared) -> int:
        with app.app_context():
            return _write_and_send(prepared)

    in_flight: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=STEPS_IN_FLIGHT) as pool:
        for step in in_chunks(todo, delivery.BATCH_SIZE):
            emails = []
            for meeting, key in step:
                user = users.get(meeting["user_id"])
                if user is None:
                    continue  # the account was deleted with its meetings a moment ago
                context = {"meeting_id": str(meeting["_id"]), "kind": kind.name, "meeting": meeting}
                emails.append(Email("meeting_reminder", key, recipient_from_user(user), context))
            try:
                prepared = outbox.prepare_many(emails)
            except Exception as exc:
                failed(exc)
                continue
            if len(in_flight) == STEPS_IN_FLIGHT:
                settle(in_flight.popleft())
            # The copied context keeps the job's log fields in the step's lines.
            in_flight.append(pool.submit(contextvars.copy_context().run, in_app, prepared))
        while in_flight:
            settle(in_flight.popleft())
    if failures:
        raise SweepFailed(f"{len(failures)} step(s) of reminders failed") from failures[0]
    return written


def send_due(kind_name: str, due: datetime, now: datetime | None = None) -> int:
    """The exact-time job: every `kind` reminder due at `due`."""
    kind = KINDS[kind_name]
    # Meetings start on whole seconds; the range keeps any fraction from hiding one.
    start = due + kind.lead
    window = {"$gte": start, "$lt": start + timedelta(seconds=1)}
    meetings = list(get_db().meetings.find({"status": "scheduled", "scheduled_at": window}))
    return send_batch(kind, meetings, now or clock.now())


def send(meeting_id, kind_name: str, start: datetime, now: datetime | None = None) -> str:
    """Send one meeting's reminder if it is in its window and not sent; returns what happened
    (`sent`, `not_in_window`, `taken`)."""
    now = now or clock.now()
    kind = KINDS[kind_name]
    if not in_window(kind, start, now):
        return "not_in_window"
    meeting = get_db().meetings.find_one(
        {"_id": meeting_id, "status": "scheduled", "scheduled_at": start}
    )
    if meeting is None or not send_batch(kind, [meeting], now):
        return "taken"  # sent already, moved, or no longer scheduled
    return "sent"


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Send every reminder inside its window that has no row yet."""
    now = now or clock.now()
    sent = dict.fromkeys(KINDS, 0)
    failures: list[Exception] = []
    for kind in KINDS.values():
        candidates = list(
            get_db().meetings.find(
                {
                    "status": "scheduled",
                    "scheduled_at": {"$gte": now + kind.window_end, "$lte": now + kind.lead},
                }
            )
        )
        try:
            sent[kind.name] = send_batch(kind, candidates, now)
        except SweepFailed as exc:
            failures.append(exc)
    if failures:
        raise SweepFailed(f"reminders failed, sent {sent}") from failures[0]
    return sent
