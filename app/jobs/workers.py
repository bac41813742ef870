"""RQ workers that run jobs inside the app context: forking (real MongoDB) or in-process."""

import logging
import time

from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty
from rq.worker import HerokuWorker

from app.jobs.queue import QUEUES

log = logging.getLogger(__name__)


class AppContextMixin:
    """Runs each job inside the Flask app context of `self.app`."""

    app = None

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            return super().perform_job(job, queue, execution)


class ForkingWorker(AppContextMixin, HerokuWorker):
    """Production worker: a fork per job (the child opens its own MongoClient), graceful on
    SIGTERM as Heroku sends it."""


class InProcessWorker(AppContextMixin, SimpleWorker):
    """Worker for mongomock (embedded mode, tests): jobs run in this process, where the data
    lives; safe on a thread (no signal handlers, timer-based timeouts); it moves due jobs of
    RQ's scheduled registry itself, about every second, instead of forking RQ's scheduler."""

    death_penalty_class = TimerDeathPenalty
    poll_interval = 1
    _released_at = float("-inf")

    def _install_signal_handlers(self):
        pass

    def release_due_scheduled_jobs(self) -> None:
        """Move jobs from RQ's scheduled registries whose time has come onto their queues."""
        self._released_at = time.monotonic()
        scheduler = RQScheduler(self.queues, connection=self.connection, logging_level="WARNING")
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        try:
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()

    def stop(self) -> None:
        """Ask the loop to end after the current job (thread mode: no signals)."""
        self._stop_requested = True

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        wait = None if timeout is None else self.poll_interval
        while not self._stop_requested:
            if time.monotonic() - self._released_at >= self.poll_interval:
                self.release_due_scheduled_jobs()
            # One-second waits so due scheduled jobs move promptly; heartbeats each pass.
            result = super().dequeue_job_and_maintain_ttl(wait, max_idle_time=1)
            if result is not None or timeout is None:
                return result
        return None


def build_worker(app, in_process: bool, queues=QUEUES, connection=None, name=None):
    """A worker on `queues` bound to `app`, heartbeating within WORKER_TTL."""
    from app.redis import connection as redis_connection

    worker_cls = InProcessWorker if in_process else ForkingWorker
    worker = worker_cls(
        list(queues),
        connection=connection or redis_connection(app.config["REDIS_URL"]),
        worker_ttl=app.config["WORKER_TTL"],
        name=name,
    )
    worker.app = app
    return worker
