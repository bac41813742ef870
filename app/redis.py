"""Redis: the one place that turns REDIS_URL into connections and the URL form each consumer
needs (redis-py `unix://`, limits `redis+unix://`, rq-dashboard a list)."""

import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from flask import current_app

NETWORK_DEFAULTS = {"socket_timeout": "5", "socket_connect_timeout": "3"}
# Heroku Key-Value Store presents self-signed certificates.
TLS_DEFAULTS = {"ssl_cert_reqs": "none", "health_check_interval": "30"}

_lock = threading.Lock()
_connections: dict[str, redis.Redis] = {}


class RedisNotConfigured(RuntimeError):
    """No REDIS_URL and no embedded server running."""


def with_options(url: str) -> str:
    """The URL with socket timeouts (and Heroku's TLS options for rediss://) added."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return url
    query = dict(parse_qsl(parts.query))
    defaults = dict(NETWORK_DEFAULTS)
    if parts.scheme == "rediss":
        defaults.update(TLS_DEFAULTS)
    for key, value in defaults.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def limits_uri(url: str) -> str:
    """The storage URI for flask-limiter (`limits`): unix sockets are `redis+unix://`."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return with_options(url)


def dashboard_urls(url: str) -> list[str]:
    """rq-dashboard's RQ_DASHBOARD_REDIS_URL, which must be a list."""
    return [with_options(url)]


def connection(url: str) -> redis.Redis:
    """A shared redis-py client for `url` (thread-safe; its pool resets itself after fork)."""
    with _lock:
        client = _connections.get(url)
        if client is None:
            client = redis.Redis.from_url(with_options(url))
            _connections[url] = client
        return client


def get_redis() -> redis.Redis:
    """The application's Redis connection."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RedisNotConfigured(
            "no Redis: set REDIS_URL, or start `make run` so its embedded server is found"
        )
    return connection(url)
