"""The recurring table: what rq-scheduler runs, as data with fixed ids (DESIGN 6)."""

import hashlib
import re
from dataclasses import dataclass

_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Recurring:
    """One recurring job: fixed id, UTC cron, dotted path, queue, timeout and result TTL (s)."""

    id: str
    cron: str
    func: str
    queue: str
    timeout: int
    result_ttl: int

    def __post_init__(self):
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"recurring id {self.id!r} must be letters, digits and '-'")

    @property
    def fingerprint(self) -> str:
        """A digest of the spec, stored with the job so a changed spec is re-registered."""
        spec = "|".join((self.cron, self.func, self.queue, str(self.timeout), str(self.result_ttl)))
        return hashlib.sha256(spec.encode()).hexdigest()[:16]


# The meetings issue fills this table (update-meeting-statuses, send-meeting-reminders,
# cleanup-old-messages); the sync machinery and its tests already run against it.
RECURRING: tuple[Recurring, ...] = ()


def by_name(table=RECURRING) -> dict[str, Recurring]:
    """The table keyed by id."""
    return {entry.id: entry for entry in table}


@dataclass(frozen=True)
class Runnable:
    """A job that can be triggered by name (CLI, admin API)."""

    func: str
    queue: str
    takes_now: bool


HEALTH_CHECK = Runnable(func="app.jobs.maintenance.health_check", queue="default", takes_now=False)


def runnable_jobs(table=RECURRING) -> dict[str, Runnable]:
    """Every job that can be run by name: the recurring ones (which take `now`) and
    `health-check`."""
    jobs = {entry.id: Runnable(entry.func, entry.queue, takes_now=True) for entry in table}
    jobs["health-check"] = HEALTH_CHECK
    return jobs
