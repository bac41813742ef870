"""The one enqueue entry point: queues, timeouts, TTLs and a retry policy per job family."""

from dataclasses import dataclass
from datetime import datetime

from rq import Queue, Retry
from rq.job import Job

from app.redis import get_redis

# Workers take the queues in this order.
QUEUES = ("high_priority", "default", "email")
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class JobPolicy:
    """How the jobs of one family run: queue, timeout (s), TTLs, retries (none by default)."""

    queue: str
    timeout: int
    result_ttl: int = RESULT_TTL
    failure_ttl: int = FAILURE_TTL
    retry: Retry | None = None


DEFAULT_POLICY = JobPolicy(queue="default", timeout=120)
# Keyed by the job's module (its family). Email delivery schedules its own retries (DESIGN 6),
# recurring jobs are caught up by their next run: neither uses RQ's Retry.
POLICIES: dict[str, JobPolicy] = {
    "app.jobs.maintenance": JobPolicy(queue="default", timeout=60),
    "app.jobs.meetings": JobPolicy(queue="high_priority", timeout=240),
    # A batch is delivery.BATCH_SIZE rows; after a transient failure the rest of it waits
    # without calling the provider, so the timeout bounds a batch of normal sends. Provider
    # failures are rescheduled by delivery itself; RQ's retry is for the job that raised or
    # died (MongoDB unreachable, a killed worker), and rows make resending safe.
    "app.jobs.emails": JobPolicy(
        queue="email", timeout=300, retry=Retry(max=5, interval=[5, 15, 30, 60, 120])
    ),
}


def policy_for(func_path: str) -> JobPolicy:
    """The policy of the family `func_path` belongs to."""
    return POLICIES.get(func_path.rpartition(".")[0], DEFAULT_POLICY)


def get_queue(name: str, connection=None) -> Queue:
    """The RQ queue `name` on the app's Redis."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or get_redis())


def enqueue(
    func_path: str,
    *args,
    job_id: str | None = None,
    at: datetime | None = None,
    queue: str | None = None,
    timeout: int | None = None,
    meta: dict | None = None,
    connection=None,
    **kwargs,
) -> Job:
    """Enqueue `func_path` (dotted path) now, or at `at` through RQ's own scheduler; `queue`
    and `timeout` override the family's policy, `meta` is stored with the job."""
    policy = policy_for(func_path)
    rq_queue = get_queue(queue or policy.queue, connection)
    options = {
        "args": args,
        "kwargs": kwargs,
        "job_id": job_id,
        "meta": meta,
        "job_timeout": timeout or policy.timeout,
        "result_ttl": policy.result_ttl,
        "failure_ttl": policy.failure_ttl,
        "retry": policy.retry,
    }
    if at is not None:
        return rq_queue.enqueue_at(at, func_path, **options)
    return rq_queue.enqueue(func_path, **options)
