"""A minute-by-minute simulation of the whole reminder path: the rq-scheduler table, RQ's
scheduled registry, a real burst worker, the outbox and a fake SendGrid, with app.clock moved
forward one minute at a time."""

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crontab import CronTab
from rq import Queue
from rq.registry import ScheduledJobRegistry

from app import clock
from app.db import get_db
from app.jobs.recurring import RecurringScheduler
from app.meetings import reminders
from app.meetings import service as meetings
from app.queue import QUEUES
from tests.accounts import make_user
from tests.email_support import release_due
from tests.workers import BurstWorker

TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
MEETINGS = 120
USERS = 40
# Meetings start within SPAN of the start; the clock runs HORIZON (past the last meeting).
SPAN = timedelta(hours=48)
HORIZON = SPAN + timedelta(hours=3)


@dataclass
class Plan:
    """One meeting's life: created at `created`, maybe moved at `moved` to `moved_to`, maybe
    cancelled at `cancelled`."""

    user: int
    start: datetime
    duration: int
    created: datetime
    moved: datetime | None = None
    moved_to: datetime | None = None
    cancelled: datetime | None = None
    meeting_id: object = None
    final_start: datetime | None = None
    last_change: datetime | None = None


@dataclass
class Outcome:
    """What a simulation produced."""

    plans: list[Plan]
    eligible: dict[int, bool]
    rows: dict[str, dict] = field(default_factory=dict)
    sendgrid_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0
    flush_at: datetime | None = None
    minutes: int = 0  # simulated minutes the run stopped at (the others had nothing due)


def _minute(t0: datetime, rng: random.Random, low: timedelta, high: timedelta) -> datetime:
    span = int((high - low).total_seconds() // 60)
    return t0 + low + timedelta(minutes=rng.randint(0, span))


def make_plans(t0: datetime, rng: random.Random, count: int, users: int) -> list[Plan]:
    """`count` meetings at random minutes over the next SPAN, some created late or inside a
    window, some moved, some cancelled (both before any reminder of theirs is due)."""
    plans = []
    for _ in range(count):
        start = _minute(t0, rng, timedelta(minutes=30), SPAN)
        roll = rng.random()
        if roll < 0.2:  # around the 24 h window
            created = start - timedelta(minutes=rng.randint(22 * 60 + 30, 24 * 60 + 30))
        elif roll < 0.4:  # around the 1 h window
            created = start - timedelta(minutes=rng.randint(35, 75))
        else:
            created = t0
        created = max(created, t0)
        plan = Plan(rng.randrange(users), start, rng.choice((15, 30, 45, 60)), created)
        room = start - timedelta(hours=25) - created
        if room > timedelta(minutes=2):
            action = rng.random()
            change = created + timedelta(minutes=rng.randint(1, int(room.total_seconds() // 60)))
            if action < 0.15:
                plan.cancelled = change
            elif action < 0.35:
                plan.moved = change
                plan.moved_to = _minute(
                    t0, rng, change - t0 + timedelta(minutes=20), SPAN + timedelta(hours=1)
                )
        plans.append(plan)
    return plans


def _events(plans: list[Plan]) -> dict[datetime, list[tuple[str, Plan]]]:
    events: dict[datetime, list[tuple[str, Plan]]] = {}
    for plan in plans:
        events.setdefault(plan.created, []).append(("create", plan))
        if plan.moved:
            events.setdefault(plan.moved, []).append(("move", plan))
        if plan.cancelled:
            events.setdefault(plan.cancelled, []).append(("cancel", plan))
    return events


def _apply(kind: str, plan: Plan, users: list[dict], now: datetime) -> None:
    user = get_db().users.find_one({"_id": users[plan.user]["_id"]})
    try:
        if kind == "create":
            meeting = meetings.create_meeting(user, plan.start, plan.duration)
            plan.meeting_id, plan.final_start, plan.last_change = meeting["_id"], plan.start, now
        elif plan.meeting_id is not None and kind == "move":
            meetings.reschedule(user, plan.meeting_id, plan.moved_to, None)
            plan.final_start, plan.last_change = plan.moved_to, now
        elif plan.meeting_id is not None and kind == "cancel":
            meetings.cancel(user, plan.meeting_id)
    except meetings.MeetingOverlap:
        if kind == "create":
            plan.meeting_id = None  # this user already has a meeting then: not part of the run
        else:
            plan.moved = plan.moved_to = None  # the move was refused; the meeting stays put


def _due_recurring(scheduler: RecurringScheduler, now: datetime) -> None:
    """One scheduler tick at the simulated minute: reconcile (with the recovery run after a
    flush), then enqueue the entries of the scheduler's own table whose cron matches it."""
    scheduler.reconcile()
    for job in scheduler.get_jobs():
        if CronTab(job.meta["cron_string"]).test(now.replace(tzinfo=None)):
            scheduler.enqueue_job(job)


def _drain(app, connection) -> None:
    if any(Queue(name, connection=connection).count for name in QUEUES):
        # RQ's scheduler moves jobs by the wall clock, years before the simulated one: it would
        # move nothing. release_due moves them by the simulated clock instead.
        BurstWorker.for_app(app, connection).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )


def _next_minute(now: datetime, scheduler: RecurringScheduler, connection, moments) -> datetime:
    """The next minute anything can happen: an event or the flush (`moments`), a cron entry
    of the scheduler's table, or a job due in RQ's scheduled registries. Every minute before
    it would only reconcile an unchanged table and find nothing due, so the run skips it."""
    naive = now.replace(tzinfo=None)
    later = [moment for moment in moments if moment > now]
    later += [
        now + timedelta(seconds=CronTab(job.meta["cron_string"]).next(naive, default_utc=True))
        for job in scheduler.get_jobs()
    ]
    for name in QUEUES:
        first = connection.zrange(
            ScheduledJobRegistry(name, connection=connection).key, 0, 0, withscores=True
        )
        if first:
            later.append(datetime.fromtimestamp(first[0][1], UTC))
    step = timedelta(minutes=1)
    if not later:
        return now + step
    soonest = min(later)
    # A job due within a minute is moved at the first whole minute at or after it.
    whole = soonest.replace(second=0, microsecond=0)
    return max(now + step, whole if whole == soonest else whole + step)


def simulate(app, connection, fake_sendgrid, t0: datetime, seed: int, flush: bool) -> Outcome:
    """Run HORIZON minute by minute; optionally FLUSHALL Redis at a random minute."""
    rng = random.Random(seed)
    users = []
    eligible = {}
    for n in range(USERS):
        fields = {"timezone": TIMEZONES[n % len(TIMEZONES)]}
        if n % 10 == 3:
            fields["email_notifications"] = False
        if n % 10 == 7:
            fields["email_status"] = "bounced"
        users.append(make_user(app, email=f"sim{n}@example.com", name=f"Sim {n}", **fields))
        eligible[n] = n % 10 not in (3, 7)
    plans = make_plans(t0, rng, MEETINGS, len(users))
    events = _events(plans)
    latest = int((SPAN - timedelta(hours=12)).total_seconds() // 60)
    flush_at = t0 + timedelta(minutes=rng.randint(6 * 60, latest)) if flush else None
    scheduler = RecurringScheduler(connection=connection)
    moments = sorted([*events, *([flush_at] if flush_at else [])])
    started = time.perf_counter()
    now, minutes = t0, 0
    while now <= t0 + HORIZON:
        clock.set_now(now)
        if now == flush_at:
            connection.flushall()
        for kind, plan in events.get(now, []):
            _apply(kind, plan, users, now)
        _due_recurring(scheduler, now)
        release_due(connection, now)
        _drain(app, connection)
        minutes += 1
        now = _next_minute(now, scheduler, connection, moments)
    outcome = Outcome(
        plans, eligible, seconds=time.perf_counter() - started, flush_at=flush_at, minutes=minutes
    )
    outcome.rows = {
        row["key"]: row for row in get_db().email_log.find({"type": "meeting_reminder"})
    }
    by_id = {str(row["_id"]): key for key, row in outcome.rows.items()}
    outcome.sendgrid_keys = [
        by_id[body["custom_args"]["email_log_id"]]
        for body in fake_sendgrid.bodies
        if body["categories"] == ["meeting_reminder"]
    ]
    return outcome


def expected_send_time(plan: Plan, kind: str) -> datetime | None:
    """When the reminder must go out, or None when it must not: due at its due minute if the
    meeting existed before it, at once if created or moved inside the window, never after."""
    if plan.meeting_id is None or plan.cancelled:
        return None
    spec = reminders.KINDS[kind]
    due = plan.final_start - spec.lead
    if plan.last_change <= due:
        return due
    if plan.last_change <= plan.final_start - spec.window_end:
        return plan.last_change
    return None
