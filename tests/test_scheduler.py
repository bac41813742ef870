"""The recurring table on rq-scheduler: fixed ids, reconcile, flush recovery, UTC."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job
from rq_scheduler import Scheduler

from app.config import ROOT
from app.jobs.recurring import (
    FINGERPRINT_META,
    HEARTBEAT_KEY,
    RecurringScheduler,
    last_heartbeat,
    sync,
)
from app.jobs.table import RECOVERY, RECURRING, Family, Task, runnable_jobs

PROBE = "app.jobs.maintenance.health_check"


def recurring(name: str, cron: str, timeout: int, result_ttl: int) -> Task:
    """A recurring probe entry on `default`."""
    return Task(PROBE, Family("default", timeout, result_ttl), name, cron, lock_ttl=timeout)


TABLE = (
    recurring("probe-every-5", "*/5 * * * *", timeout=240, result_ttl=3600),
    recurring("probe-hourly", "0 * * * *", timeout=600, result_ttl=7200),
    recurring("probe-daily", "0 3 * * *", timeout=900, result_ttl=3 * 86400),
)


@pytest.fixture
def scheduler(redis_conn):
    return RecurringScheduler(connection=redis_conn, table=TABLE, recovery=None)


def scheduled(redis_conn) -> dict[str, float]:
    return {
        key.decode(): score
        for key, score in redis_conn.zrange(Scheduler.scheduled_jobs_key, 0, -1, withscores=True)
    }


def test_sync_five_times_leaves_exactly_the_table(scheduler, redis_conn):
    for _ in range(5):
        sync(scheduler, TABLE)
    assert set(scheduled(redis_conn)) == {entry.id for entry in TABLE}
    for entry in TABLE:
        job = scheduler.job_class.fetch(entry.id, connection=redis_conn)
        assert job.meta["cron_string"] == entry.cron
        assert job.origin == entry.queue
        assert job.timeout == entry.timeout
        assert job.result_ttl == entry.result_ttl


def test_sync_cancels_unknown_ids(scheduler, redis_conn):
    scheduler.cron("* * * * *", func="app.jobs.maintenance.health_check", id="stale-entry")
    report = sync(scheduler, TABLE)
    assert report["cancelled"] == ["stale-entry"]
    assert set(scheduled(redis_conn)) == {entry.id for entry in TABLE}


def test_due_entry_survives_a_reconcile(scheduler, redis_conn):
    sync(scheduler, TABLE)
    past = time.time() - 30
    redis_conn.zadd(Scheduler.scheduled_jobs_key, {"probe-daily": past})
    report = sync(scheduler, TABLE)
    assert "probe-daily" in report["kept"]
    assert scheduled(redis_conn)["probe-daily"] == pytest.approx(past)
    due = [job.id for job in scheduler.get_jobs_to_queue()]
    assert due == ["probe-daily"]


def test_changed_spec_is_registered_again(scheduler, redis_conn):
    sync(scheduler, TABLE)
    changed = (
        TABLE[0],
        TABLE[1],
        recurring("probe-daily", "30 4 * * *", timeout=900, result_ttl=3 * 86400),
    )
    report = sync(scheduler, changed)
    assert report["registered"] == ["probe-daily"]
    job = scheduler.job_class.fetch("probe-daily", connection=redis_conn)
    assert job.meta["cron_string"] == "30 4 * * *"
    assert job.meta[FINGERPRINT_META] == changed[2].fingerprint


def test_flushall_is_restored_by_one_tick(scheduler, redis_conn):
    sync(scheduler, TABLE)
    redis_conn.flushall()
    assert scheduled(redis_conn) == {}
    scheduler.enqueue_jobs()
    assert set(scheduled(redis_conn)) == {entry.id for entry in TABLE}
    assert last_heartbeat(redis_conn) == pytest.approx(time.time(), abs=5)
    assert redis_conn.ttl(HEARTBEAT_KEY) > 0


def test_due_entry_is_enqueued_and_rescheduled(scheduler, redis_conn, app, run_worker):
    sync(scheduler, TABLE)
    redis_conn.zadd(Scheduler.scheduled_jobs_key, {"probe-every-5": time.time() - 1})
    enqueued = scheduler.enqueue_jobs()
    assert [job.id for job in enqueued] == ["probe-every-5"]
    assert scheduled(redis_conn)["probe-every-5"] > time.time()
    assert run_worker() is True
    job = scheduler.job_class.fetch("probe-every-5", connection=redis_conn)
    assert job.return_value()["status"] == "ok"


def test_recurring_ids_are_rq_safe():
    with pytest.raises(ValueError):
        recurring("cron:hourly", "0 * * * *", timeout=1, result_ttl=7200)


def test_the_table_checks_timeout_lock_period_and_result_ttl():
    with pytest.raises(ValueError, match="result TTL"):
        recurring("too-short", "0 * * * *", timeout=60, result_ttl=600)
    with pytest.raises(ValueError, match="lock TTL"):
        Task(PROBE, Family("default", 60, 7200), "no-lock", "0 * * * *")
    with pytest.raises(ValueError, match="not retried"):
        retried = Family("default", 60, 7200, retry=Retry(max=1))
        Task(PROBE, retried, "retried", "0 * * * *", lock_ttl=60)


def test_runnable_jobs_include_table_recovery_and_health_check():
    jobs = runnable_jobs()
    assert set(jobs) == {entry.id for entry in RECURRING} | {"recover-lost-jobs", "health-check"}
    assert jobs["cleanup-old-messages"].takes_now and not jobs["health-check"].takes_now


def test_a_restored_table_enqueues_the_recovery_once(redis_conn):
    scheduler = RecurringScheduler(connection=redis_conn)
    for _tick in range(3):
        scheduler.enqueue_jobs()
    queued = [
        Job.fetch(i, connection=redis_conn)
        for i in Queue("high_priority", connection=redis_conn).job_ids
    ]
    assert [job.func_name for job in queued] == [RECOVERY.func]
    redis_conn.flushall()
    scheduler.enqueue_jobs()
    queued = Queue("high_priority", connection=redis_conn).job_ids
    assert (
        len(queued) == 1 and Job.fetch(queued[0], connection=redis_conn).func_name == RECOVERY.func
    )


def test_a_due_entry_is_queued_and_rescheduled_in_one_transaction(
    scheduler, redis_conn, monkeypatch
):
    sync(scheduler, TABLE)
    redis_conn.zadd(Scheduler.scheduled_jobs_key, {"probe-hourly": time.time() - 5})
    executed = []
    real_execute = redis.client.Pipeline.execute

    def recording_execute(pipe, *args, **kwargs):
        names = [command[0][0] for command in pipe.command_stack]
        executed.append((pipe.transaction, names))
        return real_execute(pipe, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", recording_execute)
    job = scheduler.job_class.fetch("probe-hourly", connection=redis_conn)
    scheduler.enqueue_job(job)
    monkeypatch.undo()
    assert Queue("default", connection=redis_conn).job_ids == ["probe-hourly"]
    assert scheduled(redis_conn)["probe-hourly"] > time.time()
    # A scheduler killed mid-way can neither run the slot twice nor lose the entry: the queue
    # push and the next run are one MULTI/EXEC.
    assert len(executed) == 1
    transaction, names = executed[0]
    assert transaction and "ZADD" in names and {"RPUSH", "LPUSH"} & set(names)


NEXT_RUN_SCRIPT = """
import json, sys
{prelude}
from app.jobs.recurring import RecurringScheduler, next_runs, sync
from app.jobs.table import Family, Task
from app.redis import connection
conn = connection(sys.argv[1])
entry = Task("app.jobs.maintenance.health_check", Family("default", 60, 3 * 86400),
             "tz-probe", "0 3 * * *", lock_ttl=60)
scheduler = RecurringScheduler(connection=conn, table=(entry,))
sync(scheduler, (entry,))
print(json.dumps({{i: w.isoformat() for i, w in next_runs(scheduler)}}))
"""


def _next_run_in_new_york(redis_url: str, prelude: str) -> datetime:
    env = {**os.environ, "TZ": "America/New_York", "APP_ENV": "test"}
    out = subprocess.run(
        [sys.executable, "-c", NEXT_RUN_SCRIPT.format(prelude=prelude), redis_url],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout
    return datetime.fromisoformat(json.loads(out.strip().splitlines()[-1])["tz-probe"])


def test_cron_is_utc_in_a_new_york_process(redis_url, redis_conn):
    # The scheduler entry point sets TZ=UTC before rq-scheduler runs.
    when = _next_run_in_new_york(redis_url, "import scheduler")
    assert (when.hour, when.minute) == (3, 0)
    assert when.tzinfo is not None and when.utcoffset().total_seconds() == 0
    assert when > datetime.now(UTC)


def test_without_utc_a_new_york_process_gets_it_wrong(redis_url, redis_conn):
    # The control: what rq-scheduler 0.14 does when TZ is left alone.
    when = _next_run_in_new_york(redis_url, "")
    assert (when.hour, when.minute) in ((7, 0), (8, 0))
