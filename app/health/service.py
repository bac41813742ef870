"""Readiness checks of MongoDB, Redis, the workers and the scheduler."""

import time
from datetime import UTC, datetime

import pymongo
from flask import current_app
from rq import Worker

from app.db import get_db
from app.jobs.recurring import last_heartbeat
from app.queue import QUEUES
from app.redis import get_redis

SCHEDULER_MAX_AGE_S = 120
PROBE_TIMEOUT_S = 2


def _check(fn) -> dict:
    try:
        detail = fn()
    except Exception as exc:  # a readiness probe reports any failure as data
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "detail": detail}


def _mongo() -> str:
    # A probe must answer quickly even when MongoDB does not (the client allows 10 s).
    with pymongo.timeout(PROBE_TIMEOUT_S):
        get_db().command("ping")
    return "ping ok"


def _redis() -> str:
    get_redis().ping()
    return "ping ok"


def live_workers(connection) -> list[Worker]:
    """The workers whose heartbeat is younger than WORKER_TTL."""
    max_age = current_app.config["WORKER_TTL"]
    now = datetime.now(UTC)
    live = []
    for worker in Worker.all(connection=connection):
        beat = worker.last_heartbeat
        if beat is None:
            continue
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if (now - beat).total_seconds() <= max_age:
            live.append(worker)
    return live


def scheduler_age(connection) -> float | None:
    """Seconds since the scheduler's last heartbeat (None: it never beat, or Redis lost it)."""
    beat = last_heartbeat(connection)
    return None if beat is None else time.time() - beat


def _workers() -> str:
    live: dict[str, int] = dict.fromkeys(QUEUES, 0)
    for worker in live_workers(get_redis()):
        for name in worker.queue_names():
            if name in live:
                live[name] += 1
    missing = [name for name, count in live.items() if count == 0]
    if missing:
        raise RuntimeError(f"no live worker on {', '.join(missing)}")
    return ", ".join(f"{name}: {count}" for name, count in live.items())


def _scheduler() -> str:
    age = scheduler_age(get_redis())
    if age is None:
        raise RuntimeError("no scheduler heartbeat")
    if age > SCHEDULER_MAX_AGE_S:
        raise RuntimeError(f"last heartbeat {age:.0f}s ago")
    return f"heartbeat {age:.0f}s ago"


def readiness(details: bool = True) -> tuple[bool, dict]:
    """(all ok, per-part checks) for /health/ready; without `details` each check is its ok
    alone (details name hosts, ports and errors)."""
    redis_check = _check(_redis)
    checks = {"mongo": _check(_mongo), "redis": redis_check}
    if redis_check["ok"]:
        checks["worker"] = _check(_workers)
        checks["scheduler"] = _check(_scheduler)
    else:
        checks["worker"] = {"ok": False, "detail": "Redis unreachable"}
        checks["scheduler"] = {"ok": False, "detail": "Redis unreachable"}
    ok = all(check["ok"] for check in checks.values())
    if not details:
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return ok, checks
