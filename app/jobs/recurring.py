"""The scheduler process: rq-scheduler over the recurring table, reconciled by fixed id.

The process must run with TZ=UTC (`app.config.force_utc()`) before this module schedules
anything: rq-scheduler 0.14 evaluates cron strings in the process's local time.

The loop is ours, built from rq-scheduler's public methods, so that a Redis outage costs a
pause and a reconnect, never the process (honcho stops every process when one exits), and a
stop signal is honoured whatever Redis is doing.
"""

import logging
import signal
import time
import warnings
from datetime import UTC

import redis
from rq_scheduler import Scheduler
from rq_scheduler.utils import get_next_scheduled_time, to_unix

from app.jobs.table import RECOVERY, RECURRING, Task
from app.queue import enqueue_with

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "goalgetter:scheduler:heartbeat"
HEARTBEAT_TTL = 600
FINGERPRINT_META = "goalgetter_fingerprint"
# Seconds between ticks: a due entry is enqueued at most this late, and a Redis that lost its
# data gets the table (and the recovery run) back within it. rq-scheduler's lock lasts
# interval + 10 s, so a second scheduler process stays idle while this one ticks.
INTERVAL = 15
MAX_BACKOFF_S = 30

warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler.utils")


def sync(scheduler: Scheduler, table=RECURRING) -> dict[str, list[str]]:
    """Make the scheduled set equal `table`: cancel unknown ids, register missing (`restored`)
    or changed (`registered`) ones, and leave unchanged entries alone (cron() again would
    reset a due run)."""
    wanted: dict[str, Task] = {entry.id: entry for entry in table}
    existing = {job.id: job for job in scheduler.get_jobs()}
    report: dict[str, list[str]] = {"cancelled": [], "registered": [], "restored": [], "kept": []}
    for job_id, job in existing.items():
        if job_id not in wanted:
            scheduler.cancel(job)
            job.delete()
            report["cancelled"].append(job_id)
    for job_id, entry in wanted.items():
        job = existing.get(job_id)
        if job is not None and job.meta.get(FINGERPRINT_META) == entry.fingerprint:
            report["kept"].append(job_id)
            continue
        if job is not None:
            scheduler.cancel(job)
        scheduler.cron(
            entry.cron,
            func=entry.func,
            id=entry.id,
            queue_name=entry.queue,
            timeout=entry.timeout,
            result_ttl=entry.result_ttl,
            meta={FINGERPRINT_META: entry.fingerprint},
        )
        report["registered" if job is not None else "restored"].append(job_id)
    if report["cancelled"] or report["registered"] or report["restored"]:
        log.info("recurring table synced: %s", report)
    return report


def next_runs(scheduler: Scheduler) -> list[tuple[str, object]]:
    """(id, next run as aware UTC datetime) for every scheduled recurring job."""
    return [(job.id, when.replace(tzinfo=UTC)) for job, when in scheduler.get_jobs(with_times=True)]


def last_heartbeat(connection) -> float | None:
    """The epoch of the scheduler's last heartbeat, if any."""
    raw = connection.get(HEARTBEAT_KEY)
    return float(raw) if raw is not None else None


class RecurringScheduler(Scheduler):
    """rq-scheduler that reconciles the table, beats, and moves each due entry atomically."""

    def __init__(self, *args, table=RECURRING, recovery: Task | None = RECOVERY, **kwargs):
        kwargs.setdefault("interval", INTERVAL)
        super().__init__(*args, **kwargs)
        self.table = table
        self.recovery = recovery

    def write_heartbeat(self) -> None:
        """Record that this scheduler is alive (read by /health/ready)."""
        self.connection.set(HEARTBEAT_KEY, repr(time.time()), ex=HEARTBEAT_TTL)

    def reconcile(self) -> dict[str, list[str]]:
        """Sync the table (a flushed Redis gets it back, and a recovery run to re-derive the
        work it lost) and beat; returns sync's report."""
        report = sync(self, self.table)
        if report["restored"] and self.recovery is not None:
            self.enqueue_recovery(report["restored"])
        self.write_heartbeat()
        return report

    def enqueue_jobs(self):
        """One tick: reconcile, then enqueue the due entries; returns the jobs moved."""
        self.reconcile()
        jobs = list(self.get_jobs_to_queue())
        for job in jobs:
            self.enqueue_job(job)
        return jobs

    def enqueue_job(self, job):
        """Queue a due cron entry and schedule its next run in one MULTI/EXEC, so a scheduler
        killed in between can neither run a slot twice nor lose the entry (rq-scheduler itself
        does the two in separate commands)."""
        cron_string = job.meta.get("cron_string")
        if not cron_string or job.meta.get("repeat") is not None:
            return super().enqueue_job(job)
        next_run = get_next_scheduled_time(cron_string)
        queue = self.get_queue_for_job(job)
        with self.connection.pipeline() as pipe:
            queue.enqueue_job(job, pipeline=pipe)
            pipe.zadd(self.scheduled_jobs_key, {job.id: to_unix(next_run)})
            pipe.execute()
        return job

    def enqueue_recovery(self, restored: list[str]) -> None:
        """Entries were missing, so Redis is new or lost its data (and with it the exact-time
        jobs): run the recovery job once, which re-derives that work from MongoDB."""
        log.warning(
            "recurring entries %s were missing (a new or flushed Redis): enqueueing %s",
            ", ".join(restored),
            self.recovery.func,
        )
        enqueue_with(
            self.recovery.family,
            self.recovery.func,
            meta={"name": self.recovery.name},
            connection=self.connection,
        )


class _Stop:
    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        self.requested = True


def _pause(stop: _Stop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stop.requested and time.monotonic() < deadline:
        time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))


def serve(connect) -> None:
    """Tick once a minute until SIGTERM: reconcile, beat, enqueue what is due. `connect()`
    returns the Redis connection; a Redis error pauses (growing up to 30 s) and reconnects."""
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    backoff = 1.0
    while not stop.requested:
        scheduler = RecurringScheduler(connection=connect())
        try:
            scheduler.register_birth()
            while not stop.requested:
                started = time.monotonic()
                scheduler.heartbeat()
                if scheduler.acquire_lock():
                    try:
                        scheduler.enqueue_jobs()
                    finally:
                        scheduler.remove_lock()
                backoff = 1.0
                _pause(stop, INTERVAL - (time.monotonic() - started))
            scheduler.register_death()
        except redis.RedisError as exc:
            log.warning(
                "scheduler: Redis error (%s: %s); retrying in %.0f s",
                type(exc).__name__,
                exc,
                backoff,
            )
            _pause(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
