"""The jobs table: every job the service runs, its family (queue, timeout, TTLs, RQ retry), and
for recurring ones the UTC cron and the overlap lock. Enqueueing, the scheduler's entries, the
admin API and the CLI all read it; nothing else says how a job runs."""

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from crontab import CronTab
from flask import Flask
from rq import Retry

from app import queue
from app.redis import get_redis

HOUR = 3600
DAY = 24 * HOUR
_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")
# A fixed reference instant for measuring a cron string's period.
_REFERENCE = datetime(2026, 1, 5, 0, 0, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Family:
    """How a family of jobs runs: queue (and the one for its urgent jobs), timeout (s),
    result and failure TTLs (s), RQ retry. Failures are kept a week, not RQ's year."""

    queue: str
    timeout: int
    result_ttl: int = HOUR
    failure_ttl: int = 7 * DAY
    retry: Retry | None = None
    urgent_queue: str | None = None

    def queue_for(self, urgent: bool) -> str:
        """The queue of one of its jobs."""
        return self.urgent_queue if urgent and self.urgent_queue else self.queue


@dataclass(frozen=True)
class Task:
    """One job: its dotted path and family; `name` makes it runnable by name (CLI, admin
    API), `cron` (UTC) makes it recurring under that fixed id, `lock_ttl` keeps it from
    overlapping itself, `takes_now` lets callers simulate a time."""

    func: str
    family: Family
    name: str | None = None
    cron: str | None = None
    lock_ttl: int = 0
    takes_now: bool = False

    def __post_init__(self):
        if self.name is not None and not _ID_PATTERN.match(self.name):
            raise ValueError(f"job name {self.name!r} must be letters, digits and '-'")
        if self.cron is None:
            return
        if self.name is None:
            raise ValueError(f"{self.func}: a recurring job needs a name (its fixed id)")
        period, timeout = self.period, self.family.timeout
        # rq-scheduler drops a schedule whose job hash expired, so results outlive the period.
        if not timeout < period < self.family.result_ttl:
            raise ValueError(f"{self.name}: need timeout < period ({period} s) < result TTL")
        if not timeout <= self.lock_ttl < period:
            raise ValueError(f"{self.name}: need timeout <= lock TTL < period ({period} s)")
        if self.family.retry is not None:
            raise ValueError(f"{self.name}: a recurring job is not retried; its next run is")

    @property
    def id(self) -> str:
        """The recurring entry's fixed id (its name)."""
        return self.name

    @property
    def queue(self) -> str:
        """The queue its jobs go to."""
        return self.family.queue

    @property
    def timeout(self) -> int:
        """Its job timeout in seconds."""
        return self.family.timeout

    @property
    def result_ttl(self) -> int:
        """How long a result is kept, in seconds."""
        return self.family.result_ttl

    @property
    def period(self) -> int:
        """Seconds between two runs of a recurring job."""
        cron = CronTab(self.cron)
        first = _REFERENCE.timestamp() + cron.next(now=_REFERENCE)
        second = datetime.fromtimestamp(first + 1, UTC)
        return round(1 + cron.next(now=second))

    @property
    def fingerprint(self) -> str:
        """A digest of the recurring spec, stored with its entry so a change re-registers it."""
        spec = "|".join((self.cron, self.func, self.queue, str(self.timeout), str(self.result_ttl)))
        return hashlib.sha256(spec.encode()).hexdigest()[:16]


# Provider failures are rescheduled by delivery itself; RQ's retry is for a delivery job that
# raised or died (MongoDB unreachable, a killed worker): the rows make resending safe. A batch
# is delivery.BATCH_SIZE rows, and the timeout bounds a batch of normal sends.
DELIVERY = Family(
    queue.EMAIL,
    timeout=300,
    retry=Retry(max=5, interval=[5, 15, 30, 60, 120]),
    urgent_queue=queue.HIGH_PRIORITY,
)
# The reminders due in one second: rows written and sent in units of a request each (10,000 in
# well under a minute); the sweeps catch up whatever a lost job misses.
REMINDER = Family(queue.DEFAULT, timeout=300, urgent_queue=queue.HIGH_PRIORITY)
MAINTENANCE = Family(queue.DEFAULT, timeout=60)
# Functions outside the table (scripts, tests) run like this.
UNLISTED = Family(queue.DEFAULT, timeout=120)

TASKS: tuple[Task, ...] = (
    Task("app.jobs.emails.deliver_emails_task", DELIVERY),
    Task("app.jobs.emails.catch_up_emails_task", DELIVERY),
    Task("app.jobs.emails.send_email_task", DELIVERY),
    Task("app.jobs.emails.send_welcome_email_task", DELIVERY),
    Task("app.jobs.emails.send_phase_transition_email_task", DELIVERY),
    Task("app.jobs.meetings.send_due_reminders_task", REMINDER),
    Task("app.jobs.meetings.send_meeting_reminder_task", REMINDER),
    Task(
        "app.jobs.meetings.update_meeting_statuses_task",
        Family(queue.HIGH_PRIORITY, timeout=240),
        name="update-meeting-statuses",
        cron="*/5 * * * *",
        lock_ttl=270,
        takes_now=True,
    ),
    Task(
        "app.jobs.meetings.send_meeting_reminders_task",
        Family(queue.DEFAULT, timeout=1200, result_ttl=3 * HOUR),
        name="send-meeting-reminders",
        cron="0 * * * *",
        lock_ttl=1800,
        takes_now=True,
    ),
    Task(
        "app.jobs.maintenance.cleanup_old_messages_task",
        Family(queue.DEFAULT, timeout=1800, result_ttl=3 * DAY),
        name="cleanup-old-messages",
        cron="0 3 * * *",
        lock_ttl=HOUR,
        takes_now=True,
    ),
    # What the scheduler runs when it finds its entries missing (a new or flushed Redis): the
    # work Redis held (exact-time reminders, queued deliveries) re-derived from MongoDB.
    Task(
        "app.jobs.meetings.recover_lost_jobs_task",
        Family(queue.HIGH_PRIORITY, timeout=240),
        name="recover-lost-jobs",
        takes_now=True,
    ),
    Task("app.jobs.maintenance.health_check", MAINTENANCE, name="health-check"),
)

RECURRING: tuple[Task, ...] = tuple(task for task in TASKS if task.cron)
RECOVERY: Task = next(task for task in TASKS if task.name == "recover-lost-jobs")


class JobTable:
    """Look-ups over TASKS, as the app's `queue.TABLE_EXTENSION` extension."""

    def __init__(self, tasks=TASKS):
        self.by_func = {task.func: task for task in tasks}
        self.by_name = {task.name: task for task in tasks if task.name}

    def family_of(self, func_path: str) -> Family:
        """The family a job function runs in."""
        task = self.by_func.get(func_path)
        return task.family if task is not None else UNLISTED


def runnable_jobs(tasks=TASKS) -> dict[str, Task]:
    """Every job that can be run by name (CLI, admin API)."""
    return JobTable(tasks).by_name


def single_run(func):
    """Decorate a recurring job: a run that finds another holding the job's lock (TTL from the
    table) returns `{"status": "skipped"}` instead of overlapping it."""
    path = f"{func.__module__}.{func.__qualname__}"
    task = JobTable().by_func[path]

    @functools.wraps(func)
    def run(*args, **kwargs):
        with queue.exclusive(get_redis(), task.name, task.lock_ttl) as acquired:
            if not acquired:
                return {"status": "skipped", "reason": "another run holds the lock"}
            return func(*args, **kwargs)

    return run


def register_jobs(app: Flask) -> None:
    """Give enqueue() the table through the app."""
    app.extensions[queue.TABLE_EXTENSION] = JobTable()
