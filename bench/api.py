"""The limiter's cost: GET /api/v1/chat/history (authenticated, a page of messages) under
gunicorn as production runs it (gunicorn.conf.py), loaded by wrk, with the rate limiter off
and on. Users rotate so no request is refused: the figure is the cost of counting, not of
429s. Run: .venv/bin/python -m bench.api"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from app.config import force_utc

force_utc()

from bson import ObjectId  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.auth.tokens import token_pair  # noqa: E402
from app.db import ensure_indexes, get_db  # noqa: E402
from bench import common  # noqa: E402

PATH = "/api/v1/chat/history?limit=20"
# 30 history reads a minute per user: at ~1,000 req/s, 3,000 users stay under it.
USERS = 3000
SECONDS = 5
CONNECTIONS = 8
MODES = (
    ("limiter off", {"RATELIMIT_ENABLED": "false"}),
    ("limiter on", {"RATELIMIT_ENABLED": "true", "RATE_LIMIT_PER_MINUTE": str(10**9)}),
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
        db.client.drop_database(db.name)
        ensure_indexes()
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


def serve(mongo_url: str, redis_url: str, env: dict) -> tuple[subprocess.Popen, int]:
    """gunicorn -c gunicorn.conf.py wsgi:app, ready (it answered /health) and warmed up."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
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


def wrk(binary: str, port: int, script: str, tokens: str) -> tuple[float, float, int]:
    """(requests/s, p50 ms, non-2xx responses) of one wrk run."""
    url = f"http://127.0.0.1:{port}{PATH}"
    out = subprocess.run(
        [binary, "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", script, url],
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
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in MODES}
    refused = 0
    with common.servers() as (mongo_url, redis_url, _), tempfile.TemporaryDirectory() as work:
        app = create_app(common.settings(mongo_url, redis_url))
        common.progress(f"api: {USERS} users and their tokens")
        tokens = Path(work, "tokens")
        tokens.write_text("\n".join(seed(app)) + "\n")
        script = Path(work, "rotate.lua")
        script.write_text(ROTATE)
        for run in range(common.RUNS):
            for name, env in MODES:
                common.progress(f"api: {name}, run {run + 1}")
                process, port = serve(mongo_url, redis_url, env)
                try:
                    wrk(binary, port, str(script), str(tokens))  # warm-up, not counted
                    rate, p50, errors = wrk(binary, port, str(script), str(tokens))
                finally:
                    process.terminate()
                    process.wait()
                results[name].append((rate, p50))
                refused += errors
                time.sleep(1)
    off_rate = common.median_spread([r for r, _ in results["limiter off"]])[0]
    off_p50 = common.median_spread([p for _, p in results["limiter off"]])[0]
    rows = []
    for name, _env in MODES:
        rate, low, high = common.median_spread([r for r, _ in results[name]])
        p50, p50_low, p50_high = common.median_spread([p for _, p in results[name]])
        rows.append(
            [
                name,
                f"{rate:,.0f}",
                f"{low:,.0f}–{high:,.0f}",
                f"{p50:.2f}",
                f"{p50_low:.2f}–{p50_high:.2f}",
                f"{rate / off_rate:.2f}",
                f"{(p50 / off_p50 - 1) * 100:+.0f} %",
            ]
        )
    print(
        common.table(
            f"Limiter: GET {PATH}, gunicorn (2 gthread workers), wrk -t1 -c{CONNECTIONS} "
            f"{SECONDS} s, median of {common.RUNS} (non-2xx responses: {refused})",
            ["mode", "req/s", "spread", "p50 ms", "p50 spread", "× off", "p50 cost"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
