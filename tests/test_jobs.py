"""The job plumbing on the real test Redis with a real burst worker."""

from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from app import queue as job_queue


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
