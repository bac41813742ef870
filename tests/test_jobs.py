"""The job plumbing on the real test Redis with a real burst worker."""

import os
import socket
import subprocess
import sys

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from app import queue as job_queue
from app.jobs.workers import release_dead_schedulers
from app.queue import QUEUES
from tests.processes import survivors


def test_health_check_runs_on_a_burst_worker(app, run_worker, redis_conn):
    with app.app_context():
        job = job_queue.enqueue("app.jobs.maintenance.health_check")
    assert job.origin == "default"
    assert job.timeout == 60
    assert run_worker() is True
    job = Job.fetch(job.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    result = job.return_value()
    assert result["status"] == "ok"
    assert result["mongo"] is True and result["redis"] is True


def test_raising_job_lands_in_failed_registry_with_traceback(app, run_worker, redis_conn):
    with app.app_context():
        job = job_queue.enqueue("tests.jobs_for_tests.explode", "on purpose")
    run_worker()
    registry = FailedJobRegistry("default", connection=redis_conn)
    assert job.id in registry.get_job_ids()
    failed = Job.fetch(job.id, connection=redis_conn)
    assert failed.get_status() == JobStatus.FAILED
    traceback = failed.latest_result().exc_string
    assert "Traceback" in traceback
    assert "ValueError: exploded: on purpose" in traceback
    # Failures are kept 7 days, not RQ's default year.
    assert 0 < redis_conn.ttl(failed.key) <= 7 * 24 * 3600


def test_no_retry_by_default(app, run_worker, redis_conn):
    with app.app_context():
        job = job_queue.enqueue("tests.jobs_for_tests.explode", "once")
    run_worker()
    assert Job.fetch(job.id, connection=redis_conn).get_status() == JobStatus.FAILED
    assert Queue("default", connection=redis_conn).count == 0


def test_enqueue_at_is_released_when_due(app, run_worker, redis_conn):
    from datetime import UTC, datetime, timedelta

    with app.app_context():
        later = job_queue.enqueue(
            "app.jobs.maintenance.health_check", at=datetime.now(UTC) + timedelta(hours=1)
        )
        due = job_queue.enqueue(
            "app.jobs.maintenance.health_check", at=datetime.now(UTC) - timedelta(seconds=1)
        )
    run_worker()
    assert Job.fetch(due.id, connection=redis_conn).get_status() == JobStatus.FINISHED
    assert Job.fetch(later.id, connection=redis_conn).get_status() == JobStatus.SCHEDULED


def test_unknown_queue_is_refused(app):
    import pytest

    with app.app_context(), pytest.raises(ValueError):
        job_queue.get_queue("nope")


def _scheduler_lock(redis_conn, owner: str, hostname: str, pid: int) -> None:
    """Locks of every queue held by scheduler `owner`, registered as RQ registers one."""
    redis_conn.hset(SCHEDULER_KEY_TEMPLATE % owner, mapping={"hostname": hostname, "pid": str(pid)})
    for name in QUEUES:
        redis_conn.set(RQScheduler.get_locking_key(name), owner, ex=61)


_UNREAPED: list[subprocess.Popen] = []


def _gone_pid(reaped: bool = True) -> int:
    """The pid of a process that has exited: reaped, or a zombie nobody has waited for (as a
    killed worker's scheduler is, under a parent that does not reap orphans)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    if reaped:
        process.wait()
    else:
        _UNREAPED.append(process)  # a Popen collected would be reaped
        assert not survivors([process.pid], 10), "the child never exited"
    return process.pid


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_a_starting_worker_frees_the_locks_of_a_dead_scheduler_on_its_host(redis_conn, reaped):
    _scheduler_lock(redis_conn, "killed", socket.gethostname(), _gone_pid(reaped))
    assert release_dead_schedulers(redis_conn) == list(QUEUES)
    assert not any(redis_conn.exists(RQScheduler.get_locking_key(name)) for name in QUEUES)


@pytest.mark.parametrize(
    "where", ["alive-here", "other-host", "unregistered"], ids=lambda where: where
)
def test_a_live_remote_or_unregistered_scheduler_keeps_its_locks(redis_conn, where):
    if where == "alive-here":
        _scheduler_lock(redis_conn, "live", socket.gethostname(), os.getpid())
    elif where == "other-host":
        _scheduler_lock(redis_conn, "live", "another-dyno", _gone_pid())
    else:
        _scheduler_lock(redis_conn, "live", socket.gethostname(), _gone_pid())
        redis_conn.delete(SCHEDULER_KEY_TEMPLATE % "live")
    assert release_dead_schedulers(redis_conn) == []
    assert all(redis_conn.get(RQScheduler.get_locking_key(name)) == b"live" for name in QUEUES)
