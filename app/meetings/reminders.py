"""Meeting reminders: exact-time RQ jobs, catch-up sweeps, a lease in MongoDB.

With T = scheduled_at, a reminder of kind K (app/reminder_kinds.py) is due at T − lead and may
be sent while T − now ∈ [window_end, lead] (never before its due time). When a meeting is
created or its time moves, each reminder is scheduled with RQ's `enqueue_at` at its due time
under a job id made from the reminder's email key (one per kind, meeting and T); a reminder
already inside its window goes out at once; one past its window never. Both recurring sweeps
send whatever is inside its window, neither sent nor leased, so a lost job (flushed Redis,
dead worker) is caught up.

Exactly once: the meeting's `reminders.<K>` holds `{claimed_until, sent_at}`. Sending claims a
lease atomically (only for the meeting's current T and status `scheduled`), writes the email
through the outbox under the reminder's key (unique: a second write returns the first row),
then records `sent_at`. A crash between lease and `sent_at` leaves the lease to expire; the
next sweep takes it over and the key prevents a second email.
"""

import contextlib
import logging
from datetime import datetime, timedelta

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app import clock
from app.db import get_db
from app.email.outbox import delivery_batch
from app.email.send import reminder_key, send_reminder
from app.queue import enqueue
from app.redis import RedisNotConfigured, get_redis
from app.reminder_kinds import KINDS, Kind

log = logging.getLogger(__name__)

REMINDER_TASK = "app.jobs.meetings.send_meeting_reminder_task"
LEASE = timedelta(minutes=5)


def job_id(kind: str, meeting_id, start: datetime) -> str:
    """The exact-time job's id: the reminder's email key in the characters RQ allows."""
    return reminder_key(kind, meeting_id, start).replace(":", "-")


def in_window(kind: Kind, start: datetime, now: datetime) -> bool:
    """True while a reminder may be sent: due, and not past its window."""
    return start - kind.lead <= now <= start - kind.window_end


def arm(meeting: dict, now: datetime | None = None) -> None:
    """Schedule the meeting's reminders at their due times (or at once inside a window);
    best-effort: without Redis the sweeps catch up."""
    now = now or clock.now()
    start = meeting["scheduled_at"]
    for kind in KINDS.values():
        due = start - kind.lead
        if now > start - kind.window_end:
            continue  # past the window: never
        at = due if now < due else None
        try:
            enqueue(
                REMINDER_TASK,
                str(meeting["_id"]),
                kind.name,
                int(start.timestamp()),
                job_id=job_id(kind.name, meeting["_id"], start),
                at=at,
                urgent=kind.urgent,
            )
        except (redis.RedisError, RedisNotConfigured) as exc:
            log.warning(
                "reminder %s of %s not scheduled (sweeps will catch up): %s",
                kind.name,
                meeting["_id"],
                exc,
            )


def rearm_upcoming(now: datetime | None = None) -> int:
    """Arm again the reminders of every future scheduled meeting (after Redis lost its
    scheduled jobs); job ids are fixed and sending claims a lease, so nothing goes twice."""
    now = now or clock.now()
    meetings = get_db().meetings.find(
        {"status": "scheduled", "scheduled_at": {"$gt": now}}, {"_id": 1, "scheduled_at": 1}
    )
    count = 0
    for meeting in meetings:
        arm(meeting, now)
        count += 1
    return count


def disarm(meeting: dict) -> None:
    """Remove the meeting's scheduled reminder jobs for its current time (best-effort: a stale
    job finds the meeting moved or cancelled and does nothing)."""
    try:
        connection = get_redis()
        for kind in KINDS:
            with contextlib.suppress(NoSuchJobError):
                Job.fetch(
                    job_id(kind, meeting["_id"], meeting["scheduled_at"]), connection=connection
                ).delete()
    except (redis.RedisError, RedisNotConfigured) as exc:
        log.warning("reminder jobs of %s not removed: %s", meeting["_id"], exc)


def _claim(meeting_id, kind: Kind, start: datetime, now: datetime) -> dict | None:
    field = f"reminders.{kind.name}"
    return get_db().meetings.find_one_and_update(
        {
            "_id": meeting_id,
            "status": "scheduled",
            "scheduled_at": start,
            f"{field}.sent_at": {"$exists": False},
            "$or": [
                {f"{field}.claimed_until": {"$exists": False}},
                {f"{field}.claimed_until": {"$lte": now}},
            ],
        },
        {"$set": {f"{field}.claimed_until": now + LEASE}},
    )


def send(meeting_id, kind_name: str, start: datetime, now: datetime | None = None) -> str:
    """Send one reminder if it is in its window and not sent or leased; returns what happened
    (`sent`, `not_in_window`, `taken`)."""
    now = now or clock.now()
    kind = KINDS[kind_name]
    if not in_window(kind, start, now):
        return "not_in_window"
    meeting = _claim(meeting_id, kind, start, now)
    if meeting is None:
        return "taken"  # sent, leased by another worker, moved, or no longer scheduled
    send_reminder(meeting_id, meeting["user_id"], kind.name, start)
    get_db().meetings.update_one(
        {"_id": meeting_id, "scheduled_at": start},
        {"$set": {f"reminders.{kind.name}.sent_at": now}},
    )
    return "sent"


class SweepFailed(RuntimeError):
    """Some reminders of a sweep raised; the others were sent."""


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Send every reminder inside its window that is neither sent nor leased. One failing
    meeting does not hold back the rest: failures are raised together at the end (their
    leases expire and the next sweep retries them)."""
    now = now or clock.now()
    sent = dict.fromkeys(KINDS, 0)
    failures: list[tuple[object, str, Exception]] = []
    with delivery_batch():
        for kind in KINDS.values():
            field = f"reminders.{kind.name}"
            candidates = get_db().meetings.find(
                {
                    "status": "scheduled",
                    "scheduled_at": {"$gte": now + kind.window_end, "$lte": now + kind.lead},
                    f"{field}.sent_at": {"$exists": False},
                    "$or": [
                        {f"{field}.claimed_until": {"$exists": False}},
                        {f"{field}.claimed_until": {"$lte": now}},
                    ],
                },
                {"_id": 1, "scheduled_at": 1},
            )
            for meeting in list(candidates):
                try:
                    outcome = send(meeting["_id"], kind.name, meeting["scheduled_at"], now)
                except Exception as exc:  # isolate one meeting; re-raised below
                    log.exception("reminder %s of %s failed", kind.name, meeting["_id"])
                    failures.append((meeting["_id"], kind.name, exc))
                    continue
                if outcome == "sent":
                    sent[kind.name] += 1
    if failures:
        first = failures[0][2]
        raise SweepFailed(f"{len(failures)} reminder(s) failed, sent {sent}") from first
    return sent
