"""rq-scheduler for the recurring table: reconcile by fixed id, heartbeat, run the loop.

The process must run with TZ=UTC (`app.config.force_utc()`) before this module schedules
anything: rq-scheduler 0.14 evaluates cron strings in local time (PITFALLS 1.4).
"""

import logging
import time
import warnings

from rq_scheduler import Scheduler

from app.jobs.schedule import RECURRING, Recurring

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "goalgetter:scheduler:heartbeat"
HEARTBEAT_TTL = 600
FINGERPRINT_META = "goalgetter_fingerprint"
# rq-scheduler's own lock lasts interval + 10 s, so one tick per minute keeps one scheduler.
INTERVAL = 60

warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler.utils")


def sync(scheduler: Scheduler, table=RECURRING) -> dict[str, list[str]]:
    """Make the scheduled set equal `table`: cancel unknown ids, register missing or changed
    ones, and leave unchanged entries alone (cron() again would reset a due run)."""
    wanted: dict[str, Recurring] = {entry.id: entry for entry in table}
    existing = {job.id: job for job in scheduler.get_jobs()}
    report: dict[str, list[str]] = {"cancelled": [], "registered": [], "kept": []}
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
        report["registered"].append(job_id)
    if report["cancelled"] or report["registered"]:
        log.info("recurring table synced: %s", report)
    return report


def next_runs(scheduler: Scheduler) -> list[tuple[str, object]]:
    """(id, next run as aware UTC datetime) for every scheduled recurring job."""
    from datetime import UTC

    return [(job.id, when.replace(tzinfo=UTC)) for job, when in scheduler.get_jobs(with_times=True)]


def last_heartbeat(connection) -> float | None:
    """The epoch of the scheduler's last heartbeat, if any."""
    raw = connection.get(HEARTBEAT_KEY)
    return float(raw) if raw is not None else None


class RecurringScheduler(Scheduler):
    """rq-scheduler that reconciles the table and writes a heartbeat on every tick."""

    def __init__(self, *args, table=RECURRING, install_signal_handlers=True, **kwargs):
        kwargs.setdefault("interval", INTERVAL)
        super().__init__(*args, **kwargs)
        self.table = table
        self._signal_handlers = install_signal_handlers
        self._stopping = False

    def write_heartbeat(self) -> None:
        """Record that this scheduler is alive (read by /health/ready)."""
        self.connection.set(HEARTBEAT_KEY, repr(time.time()), ex=HEARTBEAT_TTL)

    def enqueue_jobs(self):
        """Reconcile (a flushed Redis gets its table back), beat, then enqueue due jobs."""
        sync(self, self.table)
        self.write_heartbeat()
        # rq-scheduler returns its exhausted generator; return the jobs moved instead.
        jobs = list(self.get_jobs_to_queue())
        for job in jobs:
            self.enqueue_job(job)
        return jobs

    def _install_signal_handlers(self):
        # On a thread (embedded mode) signals belong to the main thread.
        if self._signal_handlers:
            super()._install_signal_handlers()

    def stop(self) -> None:
        """Ask the loop to end after its current tick (thread mode)."""
        self._stopping = True

    def run_until_stopped(self) -> None:
        """The scheduler loop for a thread: like run(), but stoppable between ticks."""
        self.register_birth()
        try:
            while not self._stopping:
                started = time.monotonic()
                self.heartbeat()
                if self.acquire_lock():
                    try:
                        self.enqueue_jobs()
                    finally:
                        self.remove_lock()
                while not self._stopping and time.monotonic() - started < self._interval:
                    time.sleep(0.5)
        finally:
            self.register_death()
