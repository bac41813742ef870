"""Rate-limit keys and exemptions; the limiter itself is in app.extensions."""

import hashlib
import logging
import time
from math import floor, inf

from flask import g, has_request_context, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import STRATEGIES, SlidingWindowCounterRateLimiter
from limits.util import WindowStats

from app.http import API_PREFIX

# Liveness/readiness probes, the docs and the signed webhook are never limited.
EXEMPT_PREFIXES = (
    f"{API_PREFIX}/health",
    f"{API_PREFIX}/docs",
    f"{API_PREFIX}/openapi.json",
    f"{API_PREFIX}/webhooks/",
)


def client_ip() -> str:
    """The client's IP: `remote_addr` after ProxyFix trusted TRUSTED_PROXY_HOPS proxies."""
    return f"ip:{get_remote_address()}"


def secret_key(kind: str, secret: str) -> str:
    """A limit key for a bucket named by a secret (an unsubscribe token, a feed secret): its
    digest, because flask-limiter logs keys when a limit trips and stores them in Redis."""
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{kind}:{digest}"


def user_or_ip() -> str:
    """The JWT identity when a valid token is present (chat routes), else the client IP."""
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # an invalid token is the view's 401 to give, not the limiter's
        identity = None
    return f"user:{identity}" if identity else client_ip()


def is_exempt() -> bool:
    """True for requests no limit applies to: outside /api/v1, preflights, exempt routes."""
    path = request.path
    return (
        request.method == "OPTIONS"
        or not path.startswith(API_PREFIX)
        or path.startswith(EXEMPT_PREFIXES)
    )


# The sliding-window acquire of `limits` that also answers the window it leaves, so the
# X-RateLimit-* headers need no second round trip (the stock strategy reads the window again).
ACQUIRE_AND_REPORT = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = tonumber(redis.call('pttl', KEYS[2])) or 0
if previous_ttl <= 0 then previous_ttl = 0 end
if current_ttl <= 0 then current_ttl = 0 end
local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
local acquired = 0
if amount <= limit and weighted + amount <= limit then
    if redis.call('exists', KEYS[2]) == 1 then
        current_count = redis.call('incrby', KEYS[2], amount)
    else
        redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
        current_count = amount
        current_ttl = expiry * 2
    end
    acquired = 1
end
return {acquired, previous_count, previous_ttl, current_count, current_ttl}
"""
ONE_TRIP_STRATEGY = "sliding-window-counter-one-trip"


class OneTripSlidingWindow(SlidingWindowCounterRateLimiter):
    """The sliding-window counter of `limits`, same keys and arithmetic, in one Redis script
    per hit: the window it reports is kept for the rest of the request, where the headers read
    it. Any other storage (the in-memory fallback) gets the stock strategy's behaviour."""

    def __init__(self, storage):
        super().__init__(storage)
        self._script = None
        if isinstance(storage, RedisStorage):
            self._script = storage.get_connection().register_script(ACQUIRE_AND_REPORT)

    def _keys(self, key: str) -> list[str]:
        # limits' own key layout, so both strategies (and `limiter.reset()`) see one count.
        current = self.storage.prefixed_key(f"{{{key}}}")
        return [f"{current}/-1", current]

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Consume `cost`; the window after it is kept for get_window_stats."""
        if self._script is None or not has_request_context():
            return super().hit(item, *identifiers, cost=cost)
        key = item.key_for(*identifiers)
        acquired, previous, previous_ttl, current, current_ttl = self._script(
            self._keys(key), [item.amount, item.get_expiry(), cost]
        )
        g.setdefault("_rate_windows", {})[key] = (
            int(previous),
            max(0.0, float(previous_ttl)) / 1000,
            int(current),
            max(0.0, float(current_ttl)) / 1000,
        )
        return bool(acquired)

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """The window this request's hit reported (else one read, as the stock strategy)."""
        window = (
            g.get("_rate_windows", {}).get(item.key_for(*identifiers))
            if has_request_context()
            else None
        )
        if window is None:
            return super().get_window_stats(item, *identifiers)
        previous, previous_expires_in, current, current_expires_in = window
        remaining = max(
            0,
            item.amount - floor(self._weighted_count(item, previous, previous_expires_in, current)),
        )
        now = time.time()
        if not (previous or current):
            return WindowStats(now, remaining)
        expiry = item.get_expiry()
        previous_reset_in = previous_expires_in % (expiry / previous) if previous else inf
        current_reset_in = current_expires_in % expiry if current else inf
        return WindowStats(now + min(previous_reset_in, current_reset_in), remaining)


STRATEGIES.setdefault(ONE_TRIP_STRATEGY, OneTripSlidingWindow)


def rate_limit_headers(limiter, response):
    """X-RateLimit-Limit/Remaining/Reset from the request's limit (no Redis read: the hit
    reported its window), and Retry-After on a 429 only."""
    current = limiter.current_limit if limiter.enabled else None
    if current is None:
        return response
    try:
        reset_at = current.reset_at
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(current.remaining)
        response.headers["X-RateLimit-Reset"] = str(reset_at)
        if response.status_code == 429:
            response.headers["Retry-After"] = str(max(int(reset_at - time.time()), 1))
    except Exception as exc:  # headers are a courtesy: never fail a response for them
        logging.getLogger(__name__).warning("rate-limit headers not written: %s", exc)
    return response
