"""API throughput and latency under gunicorn (the production web command), with the rate
limiter off and on (Redis-backed, limit set so high nothing is refused: its cost, not its
refusals). Run: .venv/bin/python -m bench.api_throughput [seconds] [client threads]"""

import http.client
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.servers import servers

ROOT = Path(__file__).resolve().parent.parent
# /health is exempt from limits; /users/me without a token is a 401 after the default limit.
PATHS = ("/api/v1/health", "/api/v1/users/me")
ROUNDS = 2
MODES = (
    ("limiter off", {"RATELIMIT_ENABLED": "false"}),
    ("limiter on", {"RATELIMIT_ENABLED": "true", "RATE_LIMIT_PER_MINUTE": str(10**9)}),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hammer(port: int, path: str, seconds: float, threads: int) -> tuple[float, list[float]]:
    """Requests per second and per-request latencies (ms) for `path`."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def serve(mongo_url: str, redis_url: str, port: int, extra_env: dict) -> subprocess.Popen:
    """Start gunicorn -w 2 on `port` and wait until it accepts connections."""
    env = {
        **os.environ,
        "APP_ENV": "test",
        "REDIS_URL": redis_url,
        "MONGO_URL": mongo_url,
        "LOG_LEVEL": "WARNING",
        "RQ_DASHBOARD_USERNAME": "",
        **extra_env,
    }
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return server


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores")
    print(f"gunicorn -w 2 (sync), {threads} client threads, {seconds:.0f} s per path and mode")
    print(f"modes alternate over {ROUNDS} rounds; the best round of each is compared")
    rates: dict[tuple[str, str], float] = {}
    with servers() as (mongo_url, redis_url):
        for mode, extra_env in [*MODES] * ROUNDS:
            port = free_port()
            server = serve(mongo_url, redis_url, port, extra_env)
            try:
                for path in PATHS:
                    rate, latencies = hammer(port, path, seconds, threads)
                    rates[(mode, path)] = max(rate, rates.get((mode, path), 0.0))
                    cuts = statistics.quantiles(latencies, n=100)
                    print(
                        f"{mode:12} {path:20} {rate:8.0f} req/s   "
                        f"p50 {cuts[49]:6.2f} ms   p99 {cuts[98]:6.2f} ms"
                    )
            finally:
                server.terminate()
                server.wait()
    for path in PATHS:
        ratio = rates[("limiter on", path)] / rates[("limiter off", path)]
        print(f"limiter on / off, {path}: {ratio:.2f}")


if __name__ == "__main__":
    main()
