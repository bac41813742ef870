"""What the benchmarks share: the servers (the same kinds the tests use), the production worker
as a subprocess, a fake SendGrid with latency, bulk test data, and one table of medians."""

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import psutil
import pymongo
from bson import ObjectId

from app import clock
from app.config import ROOT, testing_secrets, testing_settings
from app.db import ensure_indexes
from app.reminder_kinds import KINDS
from devtools.services import MongoServer, RedisServer, running
from tests.email_support import API_KEY, FakeSendGrid

RUNS = 3
# Dropping thousands of indexed documents takes SecantusDB seconds on a slow day: more than
# the app's 5 s operation timeout.
RESET_TIMEOUT_S = 120


class Servers(NamedTuple):
    """A benchmark's private servers."""

    mongo_url: str
    redis_url: str
    mongo_pid: int


@contextlib.contextmanager
def servers():
    """Yield the Servers of a private SecantusDB and redis-server."""
    with tempfile.TemporaryDirectory(prefix="goalgetter-bench-") as workdir:
        root = Path(workdir)
        with (
            running(MongoServer(root / "mongo"), tie_to_parent=True) as mongo,
            running(RedisServer(root / "redis"), tie_to_parent=True) as redis_server,
        ):
            yield Servers(mongo.url_for("goalgetter_bench"), redis_server.url, mongo.pid)


def cpu_seconds(pid: int) -> float:
    """CPU time a process and its children (a worker's forks: those reaped and those still
    running) have used."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


def settings(mongo_url: str, redis_url: str, **overrides) -> dict:
    """App settings on the benchmark's servers (test mode: no .env, quiet logs)."""
    return testing_settings(
        MONGO_URL=mongo_url, REDIS_URL=redis_url, MONGO_DB_NAME="goalgetter_bench", **overrides
    )


def settings_env(mongo_url: str, redis_url: str, **overrides) -> dict:
    """The environment of a production process (worker.py, gunicorn) on the benchmark's
    servers, in test mode."""
    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "APP_ENV": "test",
        "MONGO_URL": mongo_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        # The in-process app's signing secrets, so its tokens hold on every process.
        **testing_secrets(),
        **{k: str(v) for k, v in overrides.items()},
    }


def progress(message: str) -> None:
    """One line on stderr, so a long benchmark is never minutes of silence."""
    print(f"  … {message}", file=sys.stderr, flush=True)


class Worker:
    """The production worker (`python worker.py`) as a subprocess on the given servers."""

    def __init__(self, mongo_url: str, redis_url: str, fake: FakeSendGrid, **env):
        self.env = settings_env(
            mongo_url, redis_url, SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake.url, **env
        )
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def make_users_and_meetings(db, count: int, start) -> list[ObjectId]:
    """`count` users, each with one scheduled meeting at `start`; returns the meeting ids."""
    now = clock.now()
    users, meetings = [], []
    for n in range(count):
        user_id = ObjectId()
        users.append(
            {
                "_id": user_id,
                "email": f"bench{n}@example.com",
                "name": f"Bench {n}",
                "timezone": ("UTC", "Europe/Berlin", "America/New_York")[n % 3],
                "email_notifications": True,
                "email_status": "ok",
                "phase": "tracking",
                "token_version": 0,
                "created_at": now,
            }
        )
        meetings.append(
            {
                "_id": ObjectId(),
                "user_id": user_id,
                "scheduled_at": start,
                "ends_at": start + timedelta(minutes=30),
                "duration_minutes": 30,
                "status": "scheduled",
                "sequence": 0,
                "slot_taken": True,
                "created_at": now,
            }
        )
    for chunk in range(0, count, 1000):
        db.users.insert_many(users[chunk : chunk + 1000])
        db.meetings.insert_many(meetings[chunk : chunk + 1000])
    return [m["_id"] for m in meetings]


def reset_database(db) -> None:
    """An empty database with the service's indexes, for the next run."""
    with pymongo.timeout(RESET_TIMEOUT_S):
        db.client.drop_database(db.name)
        ensure_indexes(db)


def due_reminders(db, count: int) -> tuple[list[ObjectId], datetime, int]:
    """`count` users with a meeting whose 24 h reminder fell due a minute ago (inside its
    window); returns the meeting ids, their start and the due second's epoch."""
    lead = KINDS["24h"].lead
    start = (clock.now() + lead - timedelta(minutes=1)).replace(microsecond=0)
    return make_users_and_meetings(db, count, start), start, int((start - lead).timestamp())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until `condition()`; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def accepted_times(fake: FakeSendGrid) -> list[float]:
    """The time each recipient was answered 202 (a personalized request answers many)."""
    import json

    times = []
    for recorded, reply in list(fake.server.answered):
        if recorded.path == "/v3/mail/send" and reply.status == 202:
            recipients = sum(len(p["to"]) for p in json.loads(recorded.body)["personalizations"])
            times.extend([recorded.answered_at] * recipients)
    return times


def median_spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with a title line."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        return "| " + " | ".join(f"{c!s:<{w}}" for c, w in zip(cells, widths, strict=True)) + " |"

    out = [f"### {title}", "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)


def reference_loop_s() -> float:
    """Seconds this interpreter takes for ten million additions (best of 3): the machine's speed
    on the day, since the servers here are Python too and their figures move with it."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for n in range(10_000_000):
            total += n
        best = min(best, time.perf_counter() - started)
    return best


def machine() -> str:
    """What these figures were measured on."""
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}; "
        f"reference loop (10 million additions) {reference_loop_s():.2f} s"
    )
