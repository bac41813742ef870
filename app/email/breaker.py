"""The provider's circuit breaker: after a rate limit or an outage answer, no delivery job of
any worker calls the provider again until the time it said (or the backoff chose); the rows
wait, without an attempt spent. Kept in Redis, best-effort: without Redis it stays closed and
each job finds out for itself."""

import contextlib
import logging
from datetime import UTC, datetime

import redis

from app import clock
from app.redis import RedisNotConfigured, get_redis

log = logging.getLogger(__name__)

KEY = "email:provider:open-until"
ERRORS = (redis.RedisError, RedisNotConfigured)


def open_until(now: datetime | None = None) -> datetime | None:
    """When the provider may be called again, if that is later than `now`."""
    now = now or clock.now()
    try:
        raw = get_redis().get(KEY)
    except ERRORS as exc:
        log.warning("provider breaker unreadable (%s); calling the provider", exc)
        return None
    if raw is None:
        return None
    until = datetime.fromtimestamp(float(raw), UTC)
    return until if until > now else None


def trip(until: datetime) -> None:
    """Hold every sender back until `until` (the later of this and any earlier trip)."""
    try:
        connection = get_redis()
        current = connection.get(KEY)
        if current is None or float(current) < until.timestamp():
            # Expires an hour after it closes, so a stale value never lingers.
            ttl = max(int(until.timestamp() - clock.now().timestamp()) + 3600, 1)
            connection.set(KEY, repr(until.timestamp()), ex=ttl)
    except ERRORS as exc:
        log.warning("provider breaker not tripped (%s)", exc)


def close() -> None:
    """The provider answered: let everyone send again."""
    with contextlib.suppress(*ERRORS):
        get_redis().delete(KEY)
