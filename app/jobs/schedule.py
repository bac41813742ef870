"""The recurring table: what rq-scheduler runs, as data with fixed ids (DESIGN 6)."""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from crontab import CronTab

_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")


# A fixed reference instant for measuring a cron string's period.
_REFERENCE = datetime(2026, 1, 5, 0, 0, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Recurring:
    """One recurring job: fixed id, UTC cron, dotted path, queue, and in seconds its timeout,
    result TTL and overlap-lock TTL (timeout <= lock TTL < period < result TTL)."""

    id: str
    cron: str
    func: str
    queue: str
    timeout: int
    result_ttl: int
    lock_ttl: int = 0

    def __post_init__(self):
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"recurring id {self.id!r} must be letters, digits and '-'")
        period = self.period
        if not self.timeout < period < self.result_ttl:
            raise ValueError(f"{self.id}: need timeout < period ({period} s) < result_ttl")
        if self.lock_ttl and not self.timeout <= self.lock_ttl < period:
            raise ValueError(f"{self.id}: need timeout <= lock_ttl < period ({period} s)")

    @property
    def period(self) -> int:
        """Seconds between two runs (rq-scheduler drops a schedule whose job hash expires)."""
        cron = CronTab(self.cron)
        first = _REFERENCE.timestamp() + cron.next(now=_REFERENCE)
        second = datetime.fromtimestamp(first + 1, UTC)
        return round(1 + cron.next(now=second))

    @property
    def fingerprint(self) -> str:
        """A digest of the spec, stored with the job so a changed spec is re-registered."""
        spec = "|".join((self.cron, self.func, self.queue, str(self.timeout), str(self.result_ttl)))
        return hashlib.sha256(spec.encode()).hexdigest()[:16]


RECURRING: tuple[Recurring, ...] = (
    Recurring(
        id="update-meeting-statuses",
        cron="*/5 * * * *",
        func="app.jobs.meetings.update_meeting_statuses_task",
        queue="high_priority",
        timeout=240,
        lock_ttl=270,
        result_ttl=3600,
    ),
    Recurring(
        id="send-meeting-reminders",
        cron="0 * * * *",
        func="app.jobs.meetings.send_meeting_reminders_task",
        queue="default",
        timeout=1200,
        lock_ttl=1800,
        result_ttl=3 * 3600,
    ),
    Recurring(
        id="cleanup-old-messages",
        cron="0 3 * * *",
        func="app.jobs.maintenance.cleanup_old_messages_task",
        queue="default",
        timeout=1800,
        lock_ttl=3600,
        result_ttl=3 * 86400,
    ),
)


def by_name(table=RECURRING) -> dict[str, Recurring]:
    """The table keyed by id."""
    return {entry.id: entry for entry in table}


@dataclass(frozen=True)
class Runnable:
    """A job that can be triggered by name (CLI, admin API)."""

    func: str
    queue: str
    takes_now: bool
    timeout: int | None = None


HEALTH_CHECK = Runnable(func="app.jobs.maintenance.health_check", queue="default", takes_now=False)
# What the scheduler runs when it finds its entries missing (a new or flushed Redis): the work
# Redis held (exact-time reminders, queued deliveries) re-derived from MongoDB.
RECOVERY = Runnable(
    func="app.jobs.meetings.recover_lost_jobs_task",
    queue="high_priority",
    takes_now=True,
    timeout=240,
)


def runnable_jobs(table=RECURRING) -> dict[str, Runnable]:
    """Every job that can be run by name: the recurring ones (which take `now`),
    `recover-lost-jobs` and `health-check`."""
    jobs = {
        entry.id: Runnable(entry.func, entry.queue, takes_now=True, timeout=entry.timeout)
        for entry in table
    }
    jobs["recover-lost-jobs"] = RECOVERY
    jobs["health-check"] = HEALTH_CHECK
    return jobs
