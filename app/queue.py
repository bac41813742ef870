"""The RQ queues, the one enqueue helper and the overlap lock, below every package that uses
them. How each job runs (queue, timeout, TTLs, retry) is the jobs table's (app/jobs/table.py),
which the factory hands to this module's callers through the app (`register_jobs`)."""

import contextlib
from datetime import datetime

import redis
from flask import current_app
from rq import Queue
from rq.job import Job

from app.redis import get_redis

HIGH_PRIORITY = "high_priority"
DEFAULT = "default"
EMAIL = "email"
# Workers take the queues in this order.
QUEUES = (HIGH_PRIORITY, DEFAULT, EMAIL)
TABLE_EXTENSION = "goalgetter.jobs"


def get_queue(name: str, connection=None) -> Queue:
    """The RQ queue `name` on the app's Redis."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or get_redis())


def enqueue(func_path: str, *args, **kwargs) -> Job:
    """Enqueue `func_path` (dotted path) as the jobs table says it runs; see enqueue_with."""
    family = current_app.extensions[TABLE_EXTENSION].family_of(func_path)
    return enqueue_with(family, func_path, *args, **kwargs)


def enqueue_with(
    family,
    func_path: str,
    *args,
    job_id: str | None = None,
    at: datetime | None = None,
    urgent: bool = False,
    meta: dict | None = None,
    connection=None,
    **kwargs,
) -> Job:
    """Enqueue `func_path` in `family` (a jobs-table family) now, or at `at` through RQ's own
    scheduler; `urgent` jobs go to the family's urgent queue."""
    rq_queue = get_queue(family.queue_for(urgent), connection)
    options = {
        "args": args,
        "kwargs": kwargs,
        "job_id": job_id,
        "meta": meta,
        "job_timeout": family.timeout,
        "result_ttl": family.result_ttl,
        "failure_ttl": family.failure_ttl,
        "retry": family.retry,
    }
    if at is not None:
        return rq_queue.enqueue_at(at, func_path, **options)
    return rq_queue.enqueue(func_path, **options)


@contextlib.contextmanager
def exclusive(connection, name: str, ttl_s: int):
    """Yield whether this run holds `lock:job:<name>` (TTL `ttl_s`); released in `finally`
    by redis-py's token compare-and-delete, so an expired lock held by another run survives."""
    lock = connection.lock(f"lock:job:{name}", timeout=ttl_s, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
