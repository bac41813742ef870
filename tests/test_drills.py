"""Fault drills on the production topology: the real worker.py, scheduler.py and gunicorn as
subprocesses, over a SecantusDB and a redis-server of the drill's own (so they can be killed
and restarted), with email going to a fake SendGrid. Every drill counts what the fake
answered, per recipient and type, not just status fields."""

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis
from bson import ObjectId
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq_scheduler import Scheduler

from app import clock
from app.db import get_db
from app.email import outbox
from app.jobs.recurring import HEARTBEAT_KEY
from app.jobs.table import RECOVERY, RECURRING
from app.meetings import service as meetings
from devtools.services import MongoServer, RedisServer
from tests.email_support import API_KEY, FakeSendGrid
from tests.meetings_support import reminder_job_id
from tests.processes import Stack, database_url, process_env, wait_until

pytestmark = pytest.mark.drill
BATCH = 200


class Drill:
    """One drill's servers, processes, fake SendGrid and a test-side app on the same data."""

    def __init__(self, make_app, tmp_path, latency: float):
        self.mongo = MongoServer(tmp_path / "mongo", log_path=tmp_path / "mongo.log").start()
        self.redis = RedisServer(tmp_path / "redis").start()
        self.fake = FakeSendGrid(latency=latency)
        # Personalized requests of 20 recipients, two in flight: a batch of 200 emails is
        # ten requests, so a drill can strike in the middle of one.
        email = {
            "SENDGRID_API_KEY": API_KEY,
            "SENDGRID_API_HOST": self.fake.url,
            "SENDGRID_TIMEOUT_S": 2,
            "SENDGRID_BATCH_SIZE": 20,
            "SENDGRID_CONCURRENCY": 2,
        }
        self.app = make_app(MONGO_URL=self.mongo.url, REDIS_URL=self.redis.url, **email)
        mongo_url = database_url(self.mongo.url, self.app.config["MONGO_DB_NAME"])
        self.stack = Stack(process_env(mongo_url, self.redis.url, **email), tmp_path / "logs")
        self.conn = redis.Redis(host="127.0.0.1", port=self.redis.port)

    def close(self):
        self.stack.close()
        self.fake.close()
        self.redis.stop()
        self.mongo.stop()

    def users(self, count: int) -> list[dict]:
        """`count` users inserted directly."""
        docs = [
            {
                "_id": ObjectId(),
                "email": f"drill{n}@example.com",
                "name": f"Drill {n}",
                "timezone": "UTC",
                "email_notifications": True,
                "email_status": "ok",
                "phase": "tracking",
                "created_at": clock.now(),
            }
            for n in range(count)
        ]
        with self.app.app_context():
            get_db().users.insert_many(docs)
        return docs

    def queue_welcomes(self, users: list[dict]) -> None:
        """One welcome email per user, as a fan-out (delivery jobs of a batch each)."""
        with self.app.app_context(), outbox.delivery_batch():
            for user in users:
                outbox.queue_email("welcome", f"welcome:{user['_id']}", str(user["_id"]), {})

    def statuses(self, email_type: str = "welcome") -> Counter:
        with self.app.app_context():
            rows = get_db().email_log.find({"type": email_type}, {"status": 1})
            return Counter(row["status"] for row in rows)

    def unsent(self) -> str:
        """What a failing drill needs to see: rows not sent, and what the delivery jobs did."""
        fields = {"status": 1, "attempts": 1, "next_attempt_at": 1, "lease_until": 1}
        with self.app.app_context():
            rows = list(get_db().email_log.find({"status": {"$ne": "sent"}}, fields).limit(5))
        results = []
        for registry in (FinishedJobRegistry, FailedJobRegistry):
            for job_id in registry("email", connection=self.conn).get_job_ids():
                job = Job.fetch(job_id, connection=self.conn)
                results.append((registry.__name__, job.return_value() or job.latest_result()))
        return f"{self.statuses()}; rows {rows}; jobs {results}"

    def start_worker(self):
        self.stack.start("worker")
        wait_until(lambda: self.conn.scard("rq:workers"), 30, "the worker never registered")

    def accepted(self) -> int:
        """Recipients the fake has answered 202 for."""
        return sum(self.fake.deliveries().values())

    def assert_each_once(self, users: list[dict], email_type: str = "welcome") -> None:
        deliveries = self.fake.deliveries()
        counts = [deliveries[(user["email"], email_type)] for user in users]
        assert counts.count(1) == len(users), Counter(counts)
        assert sum(n for (_, kind), n in deliveries.items() if kind == email_type) == len(users)


@pytest.fixture
def drill(make_app, tmp_path, request):
    latency = getattr(request, "param", 0.02)
    drill = Drill(make_app, tmp_path, latency)
    yield drill
    drill.close()


@pytest.mark.parametrize("drill", [0.5], indirect=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(drill):
    users = drill.users(BATCH)
    drill.start_worker()
    drill.queue_welcomes(users)
    wait_until(lambda: drill.accepted() >= 60, 60, "sending never started")
    # Kill while requests are in flight and the ones before them are recorded: the provider
    # has not answered those in flight, so it has not accepted them. Each of the two sending
    # threads records its answer before it sends the next request, so once two requests are
    # held (past their latency, kept back only by the hold) every answered one is recorded.
    # A kill between an answer and its record would send those emails again: no sender can
    # tell that case from an unanswered request. A request still in its latency wait when
    # the hold began may be answering already, so it does not count as held.
    drill.fake.hold()
    wait_until(lambda: drill.fake.held >= 2, 10, "two requests were never held")
    lock = RQScheduler.get_locking_key("email")
    killed_scheduler = drill.conn.get(lock)
    drill.stack.kill("worker")
    # A killed multi-threaded process reads as a zombie before its last thread has closed its
    # sockets: lift the hold only once the fake has seen both clients hang up.
    wait_until(lambda: drill.fake.held == 0, 10, "the killed worker's requests never hung up")
    drill.fake.release()
    assert drill.statuses()["sent"] < BATCH
    drill.start_worker()
    # The killed scheduler's locks would hold for their TTL; the new worker frees them, so
    # the chase of the killed worker's leases (a scheduled job) runs when the leases end.
    wait_until(
        lambda: drill.conn.get(lock) not in (None, killed_scheduler),
        10,
        "the new worker's scheduler never took over",
    )
    wait_until(
        lambda: drill.statuses()["sent"] == BATCH,
        150,
        lambda: f"not every email was sent: {drill.unsent()}",
        step=1,
    )
    drill.assert_each_once(users)


@pytest.mark.parametrize("drill", [1.0], indirect=True)
def test_a_worker_stopped_mid_batch_hands_back_its_job(drill):
    users = drill.users(BATCH)
    drill.start_worker()
    drill.queue_welcomes(users)
    wait_until(lambda: drill.accepted() >= 40, 60, "sending never started")
    # A dyno restart: SIGTERM to the worker process, as Heroku sends it.
    drill.stack.signal("worker", signal.SIGTERM)
    code = drill.stack.processes["worker"].wait(timeout=30)
    assert code == 0, drill.stack.tail()
    sent_before = drill.statuses()["sent"]
    assert 40 <= sent_before < BATCH
    assert "handed back to the queue" in drill.stack.log("worker")
    drill.start_worker()
    wait_until(
        lambda: drill.statuses()["sent"] == BATCH,
        90,
        lambda: f"not every email was sent: {drill.unsent()}",
        step=1,
    )
    drill.assert_each_once(users)


def _queued_funcs(conn, queue: str) -> list[str]:
    return [
        Job.fetch(job_id, connection=conn).func_name
        for job_id in Queue(queue, connection=conn).job_ids
    ]


def test_the_scheduler_restarted_five_times_keeps_one_table_and_runs_a_due_slot_once(drill):
    conn = drill.conn
    drill.stack.start("scheduler")
    wait_until(lambda: conn.get(HEARTBEAT_KEY), 30, "no scheduler heartbeat")
    # The 5-minute entry falls due while the scheduler is between ticks; then it restarts.
    conn.zadd(Scheduler.scheduled_jobs_key, {"update-meeting-statuses": time.time() - 1})
    for restart in range(5):
        assert drill.stack.stop("scheduler", timeout=15) == 0, drill.stack.tail()
        conn.delete(HEARTBEAT_KEY)
        extra = {"TZ": "America/New_York"} if restart == 2 else {}
        drill.stack.start("scheduler", **extra)
        wait_until(lambda: conn.get(HEARTBEAT_KEY), 30, f"restart {restart}: no heartbeat")
    scheduler = Scheduler(connection=conn)
    entries = {job.id: when for job, when in scheduler.get_jobs(with_times=True)}
    assert set(entries) == {entry.id for entry in RECURRING}
    cleanup = entries["cleanup-old-messages"]
    assert (cleanup.hour, cleanup.minute) == (3, 0), cleanup
    assert entries["update-meeting-statuses"].replace(tzinfo=UTC) > datetime.now(UTC)
    high = _queued_funcs(conn, "high_priority")
    # One run of the due slot, and one recovery run (the very first start found no table).
    assert high.count("app.jobs.meetings.update_meeting_statuses_task") == 1, high
    assert high.count(RECOVERY.func) == 1, high


def test_redis_restarted_empty_comes_back_and_sends_each_due_reminder_once(drill):
    drill.stack.start("web")
    drill.stack.start("scheduler")
    drill.start_worker()
    drill.stack.wait_ready(60)
    users = drill.users(4)
    now = clock.now()
    with drill.app.app_context():
        # Sent before the outage (its 1 h window is open now): must not go again.
        early = meetings.create_meeting(users[0], now + timedelta(minutes=57), 30)
        # Reminder still ahead: its exact-time job must come back with the schedule.
        later = meetings.create_meeting(users[1], now + timedelta(hours=2), 30)
    wait_until(
        lambda: drill.fake.deliveries()[(users[0]["email"], "meeting_reminder")],
        30,
        "early reminder",
    )
    drill.redis.kill()
    with drill.app.app_context():
        # Booked while Redis is down: the rows are written, nothing could be enqueued.
        one_hour = meetings.create_meeting(users[2], now + timedelta(minutes=55), 30)
        one_day = meetings.create_meeting(users[3], now + timedelta(hours=24, minutes=-2), 30)
    time.sleep(3)
    drill.redis.start()  # no persistence: it comes back empty
    ready = drill.stack.wait_ready(120)
    assert all(check["ok"] for check in ready["checks"].values())
    entries = {job.id for job in Scheduler(connection=drill.conn).get_jobs()}
    assert entries == {entry.id for entry in RECURRING}

    def reminders_sent():
        d = drill.fake.deliveries()
        return (
            d[(users[2]["email"], "meeting_reminder")]
            and d[(users[3]["email"], "meeting_reminder")]
        )

    wait_until(reminders_sent, 120, "the due reminders were not sent after the restart")
    wait_until(
        lambda: all(drill.fake.deliveries()[(u["email"], "meeting_invitation")] for u in users),
        60,
        "invitations booked during the outage were not sent",
    )
    time.sleep(3)  # anything sent twice would have arrived by now
    deliveries = drill.fake.deliveries()
    for user in users[:1] + users[2:]:
        assert deliveries[(user["email"], "meeting_reminder")] == 1, deliveries
    assert deliveries[(users[1]["email"], "meeting_reminder")] == 0
    assert all(deliveries[(u["email"], "meeting_invitation")] == 1 for u in users), deliveries
    # The reminder still ahead has its exact-time job again.
    wanted = reminder_job_id("1h", later["scheduled_at"])
    assert wanted in ScheduledJobRegistry("high_priority", connection=drill.conn).get_job_ids()
    assert early["_id"] and one_hour["_id"] and one_day["_id"]


def test_mongodb_stopped_for_30_seconds_answers_503_and_catches_up(drill):
    drill.stack.start("web")
    drill.stack.start("scheduler")
    drill.start_worker()
    drill.stack.wait_ready(60)
    status, session, _ = drill.stack.post(
        "/auth/signup", {"email": "ada@example.com", "password": "a-long-password", "name": "Ada"}
    )
    assert status == 201, session
    users = drill.users(80)
    drill.fake.latency = 0.5
    drill.queue_welcomes(users)
    wait_until(lambda: drill.accepted() >= 40, 30, "sending never started")
    pids = {name: drill.stack.pid(name) for name in ("web", "worker", "scheduler")}
    drill.mongo.stop()
    outage_ends = time.monotonic() + 30
    auth = {"Authorization": f"Bearer {session['access_token']}"}
    refresh = {"Authorization": f"Bearer {session['refresh_token']}"}
    answers = []
    while time.monotonic() < outage_ends - 10:
        answers.append(("GET /users/me", *drill.stack.get("/users/me", headers=auth)))
        answers.append(("GET /goals", *drill.stack.get("/goals", headers=auth)))
        login = {"email": "ada@example.com", "password": "a-long-password"}
        answers.append(("POST /auth/login", *drill.stack.post("/auth/login", login)))
        answers.append(("POST /auth/refresh", *drill.stack.post("/auth/refresh", headers=refresh)))
        answers.append(("GET /health", *drill.stack.get("/health")))
        answers.append(("GET /health/ready", *drill.stack.get("/health/ready")))
    for route, status, body, seconds in answers:
        assert seconds < 10, (route, seconds)
        if route == "GET /health":
            assert status == 200
        elif route == "GET /health/ready":
            assert status == 503 and body["checks"]["mongo"]["ok"] is False
        else:
            assert status == 503 and body["error"]["code"] == "service_unavailable", (route, body)
    assert all(drill.stack.running(name) for name in pids), drill.stack.tail()
    time.sleep(max(outage_ends - time.monotonic(), 0))
    drill.mongo.start()
    drill.stack.wait_ready(60)
    assert {name: drill.stack.pid(name) for name in pids} == pids
    # The 80 and the signup's welcome.
    wait_until(
        lambda: drill.statuses()["sent"] == len(users) + 1,
        180,
        lambda: f"not every email was sent after MongoDB came back: {drill.unsent()}",
        step=1,
    )
    drill.assert_each_once([*users, {"email": "ada@example.com"}])
    assert drill.stack.get("/users/me", headers=auth)[0] == 200
