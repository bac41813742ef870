"""The worker process: RQ's forking HerokuWorker bound to the app, kept alive through outages.

Each job runs in a forked child inside the app context; the child opens its own MongoClient
(`app.db.get_client` checks the pid), so nothing of the parent's connections is shared. The
worker runs RQ's scheduler (for `enqueue_at` and retries) in a child process of its own.

What keeps it alive: RQ retries Redis while it waits for work, but any other Redis error ends
its loop; `serve` then builds a new worker after a backoff, so the process (which honcho or
the dyno manager watches) never exits on an outage. A Redis that lost our registration (a
flush, or a restart with an empty database) is told again on the next heartbeat, so
/health/ready recovers by itself.

A worker killed outright (SIGKILL, out of memory) leaves its scheduler's locks in Redis for
their 61 s TTL, and RQ's next attempt to take them comes a maintenance interval later: for up
to two minutes nothing scheduled (exact-time reminders, retries, lease chases) would move. A
worker starting on the same host frees the locks whose scheduler process is gone (the lock
names the scheduler, whose record in Redis gives its host and pid), so it schedules at once.
"""

import contextlib
import logging
import os
import signal
import socket
import time

import redis
from rq import worker_registration
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock
from rq.worker import HerokuWorker

from app import shutdown
from app.processes import alive
from app.queue import QUEUES, enqueue

log = logging.getLogger(__name__)

# RQ restarts a crashed scheduler child and cleans abandoned jobs in its maintenance pass;
# once a minute instead of RQ's ten keeps both prompt after an outage.
MAINTENANCE_INTERVAL_S = 60
MAX_BACKOFF_S = 30
CATCH_UP_TASK = "app.jobs.emails.catch_up_emails_task"


class AppContextMixin:
    """Runs each job inside the Flask app context of `self.app`."""

    app = None

    def perform_job(self, job, queue, execution):
        """Run the job inside the app context (in the forked child, for a forking worker)."""
        with self.app.app_context():
            return super().perform_job(job, queue, execution)


class Worker(AppContextMixin, HerokuWorker):
    """HerokuWorker whose jobs run in the app context and that re-registers after a flush."""

    def __init__(self, queues, *, app, **kwargs):
        super().__init__(queues, **kwargs)
        self.app = app
        self.stopping = False

    def request_stop(self, signum, frame):
        """SIGTERM/SIGINT: remember it, so `serve` ends instead of starting a new worker."""
        self.stopping = True
        return super().request_stop(signum, frame)

    def request_stop_sigrtmin(self, signum, frame):
        """In the job's process, the warning RQ gives before it cuts the job: let the job
        know (app.shutdown), so it can hand back what it has not started."""
        shutdown.announce()
        return super().request_stop_sigrtmin(signum, frame)

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ's heartbeat, then register again if Redis no longer lists this worker."""
        super().heartbeat(timeout, pipeline)
        if pipeline is None and not self.connection.sismember(self.redis_workers_keys, self.key):
            log.warning("worker %s: Redis lost its registration; registering again", self.name)
            with self.connection.pipeline() as pipe:
                pipe.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, pipe)
                pipe.expire(self.key, timeout or self.worker_ttl + 60)
                pipe.execute()


def build_worker(app, queues=QUEUES, connection=None) -> Worker:
    """A worker on `queues` bound to `app`, heartbeating within WORKER_TTL."""
    from app.redis import connection as redis_connection

    return Worker(
        list(queues),
        app=app,
        connection=connection or redis_connection(app.config["REDIS_URL"]),
        worker_ttl=app.config["WORKER_TTL"],
        maintenance_interval=MAINTENANCE_INTERVAL_S,
    )


class _Stop:
    """SIGTERM/SIGINT between two worker loops."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        self.requested = True


def _wait_for_horse(worker: Worker) -> None:
    # A loop that ended on a Redis error can leave its child running a job: let it finish
    # rather than run the next job beside it.
    if worker.horse_pid:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.horse_pid, 0)


def _catch_up_on_start(app) -> None:
    # Rows a killed worker left behind go out now rather than at the next 5-minute sweep.
    try:
        with app.app_context():
            enqueue(CATCH_UP_TASK, grace_s=0)
    except (redis.RedisError, OSError) as exc:
        log.warning("outbox catch-up not enqueued at start: %s", exc)


def release_dead_schedulers(connection, queues=QUEUES) -> list[str]:
    """Free the scheduler locks of `queues` held by a scheduler process of this host that no
    longer exists; returns the queues freed. A lock whose holder is elsewhere, alive, or not
    registered yet is left to its TTL."""
    hostname = socket.gethostname()
    freed = []
    for queue in queues:
        key = RQScheduler.get_locking_key(queue)
        owner = connection.get(key)
        if owner is None:
            continue
        owner = owner.decode()
        host, pid = connection.hmget(SCHEDULER_KEY_TEMPLATE % owner, "hostname", "pid")
        if host is None or host.decode() != hostname or not pid:
            continue
        # Compare-and-delete: a lock taken by a new scheduler meanwhile stays.
        if not alive(int(pid)) and release_lock(connection, key, owner):
            freed.append(queue)
    if freed:
        log.warning("scheduler locks of %s freed: their scheduler process is gone", freed)
    return freed


def serve(app, queues=QUEUES) -> None:
    """Run workers until SIGTERM: a loop that ends for any other reason (Redis gone, an error
    RQ does not survive) is followed by a new worker after a growing pause."""
    stop = _Stop()
    backoff = 1.0
    _catch_up_on_start(app)
    while True:
        worker = None
        started = time.monotonic()
        try:
            worker = build_worker(app, queues)  # RQ names its connection here: Redis needed
            release_dead_schedulers(worker.connection, queues)
            worker.work(with_scheduler=True, logging_level=app.config["LOG_LEVEL"])
        except (redis.RedisError, OSError) as exc:
            log.warning("worker could not run: %s: %s", type(exc).__name__, exc)
        if stop.requested or (worker is not None and worker.stopping):
            return
        if worker is not None:
            _wait_for_horse(worker)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if time.monotonic() - started > 60:
            backoff = 1.0
        log.warning("worker loop ended; starting a new worker in %.0f s", backoff)
        deadline = time.monotonic() + backoff
        while time.monotonic() < deadline and not stop.requested:
            time.sleep(0.2)
        if stop.requested:
            return
        backoff = min(backoff * 2, MAX_BACKOFF_S)
