"""The limiter's cost: GET /api/v1/chat/history (authenticated, a page of messages) under
gunicorn as production runs it (gunicorn.conf.py), loaded by wrk, with the rate limiter off,
on (one Redis script a request) and counting in each process's memory (no Redis at all: the
floor any local pre-counting scheme could reach), all served side by side and measured in
turns. Users rotate so no request is refused: the figure is the cost of counting, not of
429s. Run: .venv/bin/python -m bench.api"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from app.config import force_utc

force_utc()

from bson import ObjectId  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.auth.tokens import token_pair  # noqa: E402
from app.db import get_db  # noqa: E402
from bench import common  # noqa: E402

PATH = "/api/v1/chat/history?limit=20"
# 30 history reads a minute per user: at ~1,000 req/s, 3,000 users stay under it.
USERS = 3000
SECONDS = 4
# A few per cent is the figure, and this shared machine's speed drifts by more than that from
# one run to the next: more, shorter turns than the other benchmarks' 3.
RUNS = 7
# One client alone (the latency a user sees) and eight at once (the workers saturated).
CONNECTIONS = (1, 8)
LIMITED = {"RATELIMIT_ENABLED": "true", "RATE_LIMIT_PER_MINUTE": str(10**9)}
# (name, settings, WSGI app)
MODES = (
    ("limiter off", {"RATELIMIT_ENABLED": "false"}, "wsgi:app"),
    ("limiter on", LIMITED, "wsgi:app"),
    ("limiter in-process", LIMITED, "bench.wsgi_local_limiter:app"),
)
ROTATE = """
local tokens, n = {}, 0
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
request = function()
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[n % #tokens + 1]}
  return wrk.format("GET", nil, headers)
end
"""


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    common.progress("installing wrk from Debian (apt-get install wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run([*sudo, *command], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def seed(app) -> list[str]:
    """USERS users with two messages each; returns their access tokens."""
    now = clock.now()
    with app.app_context():
        db = get_db()
        common.reset_database(db)
        users = [
            {
                "_id": ObjectId(),
                "email": f"load{n}@example.com",
                "name": f"Load {n}",
                "timezone": "UTC",
                "token_version": 0,
                "email_status": "ok",
                "created_at": now,
            }
            for n in range(USERS)
        ]
        db.users.insert_many(users)
        db.chat_messages.insert_many(
            {"user_id": u["_id"], "role": role, "content": f"{role} says hi", "created_at": now}
            for u in users
            for role in ("user", "assistant")
        )
        return [token_pair(user)["access_token"] for user in users]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(mongo_url: str, redis_url: str, env: dict, wsgi: str) -> tuple[subprocess.Popen, int]:
    """gunicorn -c gunicorn.conf.py `wsgi`, ready (it answered /health)."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", wsgi],
        cwd=common.ROOT,
        env={
            **os.environ,
            **common.settings_env(mongo_url, redis_url),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    common.wait_for(ready, 60, "gunicorn to answer /health")
    return process, port


def wrk(
    binary: str, port: int, script: str, tokens: str, connections: int
) -> tuple[float, float, int]:
    """(requests/s, p50 ms, non-2xx responses) of one wrk run."""
    url = f"http://127.0.0.1:{port}{PATH}"
    out = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency", "-s", script, url],
        env={**os.environ, "BENCH_TOKENS": tokens},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    p50 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, int(errors.group(1)) if errors else 0


def main() -> None:
    binary = ensure_wrk()
    common.progress("api: starting SecantusDB and Redis")
    results: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
    refused = 0
    with common.servers() as (mongo_url, redis_url, _), tempfile.TemporaryDirectory() as work:
        app = create_app(common.settings(mongo_url, redis_url))
        common.progress(f"api: {USERS} users and their tokens")
        tokens = Path(work, "tokens")
        tokens.write_text("\n".join(seed(app)) + "\n")
        script = Path(work, "rotate.lua")
        script.write_text(ROTATE)

        def load(name: str, connections: int) -> tuple[float, float, float]:
            nonlocal refused
            process, port = served[name]
            before = common.cpu_seconds(process.pid)
            rate, p50, errors = wrk(binary, port, str(script), str(tokens), connections)
            refused += errors
            cpu_ms = (common.cpu_seconds(process.pid) - before) * 1000 / (rate * SECONDS)
            return rate, p50, cpu_ms

        # The modes are served side by side for the whole benchmark and measured in turns
        # (in order, then reversed), so the machine's drift and boot order favour none.
        served = {name: serve(mongo_url, redis_url, env, wsgi) for name, env, wsgi in MODES}
        try:
            for name in served:
                common.progress(f"api: {name}, warm-up")
                load(name, max(CONNECTIONS))
            for connections in CONNECTIONS:
                for run in range(RUNS):
                    order = list(served) if run % 2 == 0 else list(reversed(served))
                    common.progress(f"api: {connections} connection(s), run {run + 1} of {RUNS}")
                    for name in order:
                        results.setdefault((connections, name), []).append(load(name, connections))
        finally:
            for process, _port in served.values():
                process.terminate()
                process.wait()
    print(
        common.table(
            f"Limiter: GET {PATH}, gunicorn (2 gthread workers), wrk -t1, {SECONDS} s turns, "
            f"median of {RUNS} (non-2xx responses: {refused})",
            HEADER,
            rows(results),
        )
    )


HEADER = ["wrk connections", "mode", "req/s", "spread", "p50 ms", "p50 spread", "× off"]
HEADER += ["p50 cost", "web CPU ms / request"]


def rows(results: dict[tuple[int, str], list[tuple[float, float, float]]]) -> list[list[str]]:
    """Table rows; each ratio is to limiter off at the same load, measured in the same run."""
    table = []
    for (connections, name), runs in results.items():
        off = results[(connections, MODES[0][0])]
        off_rate = common.median_spread([r for r, _, _ in off])[0]
        off_p50 = common.median_spread([p for _, p, _ in off])[0]
        rate, low, high = common.median_spread([r for r, _, _ in runs])
        p50, p50_low, p50_high = common.median_spread([p for _, p, _ in runs])
        cpu_ms = common.median_spread([c for _, _, c in runs])[0]
        table.append(
            [
                str(connections),
                name,
                f"{rate:,.0f}",
                f"{low:,.0f}–{high:,.0f}",
                f"{p50:.2f}",
                f"{p50_low:.2f}–{p50_high:.2f}",
                f"{rate / off_rate:.2f}",
                f"{(p50 / off_p50 - 1) * 100:+.0f} %",
                f"{cpu_ms:.2f}",
            ]
        )
    return table


if __name__ == "__main__":
    main()
