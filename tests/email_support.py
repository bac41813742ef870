"""Helpers for the email tests: a fake SendGrid, documents as the flows write them,
and the release of RQ's scheduled jobs that are due at the simulated time."""

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app import clock
from app.db import get_db
from app.email.outbox import with_bodies
from app.queue import QUEUES
from tests.fake_http import ClientGone, FakeServer, Reply, client_gone

# Far beyond the real date, so jobs scheduled with enqueue_at are never due in real time and
# move only when a test releases them at the simulated time.
T0 = datetime(2031, 1, 14, 15, 0, tzinfo=UTC)
API_KEY = "SG.test-key-that-must-never-be-logged"


class FakeSendGrid:
    """A local SendGrid: answers mail/send from a script of replies, then 202 with an id.

    `latency` delays every answer; `hold()` keeps answers back until `release()`. A request
    whose client hangs up while it waits is never answered, and the fake counts as delivered
    only what it answered: like SendGrid, which accepts what it has answered 202 to.
    """

    def __init__(self, latency: float = 0.0):
        self.script: list = []
        # Answers each request the script does not: `rule(recorded) -> Reply | None` (None: 202).
        self.rule = None
        self.latency = latency
        self._lock = threading.Lock()
        self._count = 0
        self._open = threading.Event()
        self._open.set()
        # Requests past their latency and kept back only by hold(): none of them is answered
        # before release(), where a request still waiting out its latency may be answering now.
        self.held = 0
        self.server = FakeServer(self._respond)

    def hold(self) -> None:
        """Keep every answer back (a provider that stopped answering)."""
        self._open.clear()

    def release(self) -> None:
        """Answer again."""
        self._open.set()

    def _wait(self, connection) -> None:
        deadline = time.monotonic() + self.latency
        held = False
        try:
            while time.monotonic() < deadline or not self._open.is_set():
                if connection is not None and client_gone(connection):
                    raise ClientGone()
                if not held and time.monotonic() >= deadline and not self._open.is_set():
                    held = True
                    with self._lock:
                        self.held += 1
                time.sleep(min(0.02, max(deadline - time.monotonic(), 0.005)))
            # Once more after the wait: a client killed while held (and the hold then lifted)
            # must not be answered, and so not counted as accepted.
            if connection is not None and client_gone(connection):
                raise ClientGone()
        finally:
            if held:
                with self._lock:
                    self.held -= 1

    def _respond(self, recorded):
        with self._lock:
            self._count += 1
            number = self._count
            step = self.script.pop(0) if self.script else self.rule
        if self.latency or not self._open.is_set():
            self._wait(recorded.connection)
        if callable(step):
            step = step(recorded)
        return step or Reply(202, b"", {"X-Message-Id": f"msg{number:04d}"})

    def deliveries(self) -> Counter:
        """How many times each (recipient, category) was answered 202."""
        counts: Counter = Counter()
        for recorded, reply in list(self.server.answered):
            if recorded.path != "/v3/mail/send" or reply.status != 202:
                continue
            body = json.loads(recorded.body)
            category = (body.get("categories") or [None])[0]
            for personalization in body.get("personalizations", []):
                for to in personalization.get("to", []):
                    counts[(to["email"], category)] += 1
        return counts

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self):
        return [r for r in self.server.requests if r.path == "/v3/mail/send"]

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests]

    def close(self):
        self.server.close()


def make_user(**fields) -> dict:
    """Insert a user as the accounts flows do; returns the document."""
    user = {
        "_id": ObjectId(),
        "email": f"user-{ObjectId()}@example.com",
        "name": "Ada",
        "timezone": "UTC",
        "email_notifications": True,
        "email_status": "ok",
        "phase": "goal_setting",
        "created_at": clock.now(),
    }
    user.update(fields)
    get_db().users.insert_one(user)
    return user


def make_meeting(user: dict, scheduled_at: datetime, **fields) -> dict:
    """Insert a meeting as the meetings flows do."""
    meeting = {
        "_id": ObjectId(),
        "user_id": user["_id"],
        "scheduled_at": scheduled_at,
        "ends_at": scheduled_at + timedelta(minutes=fields.get("duration_minutes", 30)),
        "duration_minutes": 30,
        "status": "scheduled",
        "sequence": 0,
        "slot_taken": True,
        "created_at": clock.now(),
    }
    meeting.update(fields)
    get_db().meetings.insert_one(meeting)
    return meeting


def make_goal(user: dict, titles=("5k", "10k", "Half marathon"), achieved=(0,)) -> dict:
    """Insert a goal with milestones, those at `achieved` indexes achieved now."""
    goal = {
        "_id": ObjectId(),
        "user_id": user["_id"],
        "title": "Run a marathon",
        "description": "",
        "milestones": [
            {"title": title, "achieved_at": clock.now() if i in achieved else None}
            for i, title in enumerate(titles)
        ],
        "status": "active",
        "created_at": clock.now(),
    }
    get_db().goals.insert_one(goal)
    return goal


def row(email_id) -> dict | None:
    """The email_log row, with its subject, HTML and text as sent."""
    found = get_db().email_log.find_one({"_id": ObjectId(str(email_id))})
    return with_bodies(found) if found is not None else None


def stored(query: dict) -> dict | None:
    """The first email_log row matching `query`, with its bodies."""
    found = get_db().email_log.find_one(query)
    return with_bodies(found) if found is not None else None


def scheduled_at(connection, queue="email") -> list[datetime]:
    """When each job in RQ's scheduled registry of `queue` is due."""
    registry = ScheduledJobRegistry(queue, connection=connection)
    return [registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()]


def release_due(connection, now: datetime | None = None) -> int:
    """Move jobs of RQ's scheduled registries due at the simulated `now` onto their queues."""
    timestamp = int((now or clock.now()).timestamp())
    released = 0
    for name in QUEUES:
        registry = ScheduledJobRegistry(name, connection=connection)
        queue = Queue(name, connection=connection)
        for job_id in registry.get_jobs_to_schedule(timestamp):
            queue.enqueue_job(Job.fetch(job_id, connection=connection))
            registry.remove(job_id)
            released += 1
    return released


def advance(seconds: float) -> datetime:
    """Move the frozen clock forward."""
    moment = clock.now() + timedelta(seconds=seconds)
    clock.set_now(moment)
    return moment
