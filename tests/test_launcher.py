"""`make run`'s launcher as a real process: embedded mode up, usable, and gone when stopped."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.config import ROOT

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path, **extra) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {**keep, "APP_ENV": "development", "INSTANCE_PATH": str(tmp_path), **extra}


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: it holds no socket and does no work.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


@pytest.fixture
def embedded(tmp_path):
    port = _free_port()
    env = _env(tmp_path, PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    started = time.monotonic()
    status = None
    while time.monotonic() - started < 60:
        if process.poll() is not None:
            pytest.fail(f"launcher exited: {process.stdout.read()}")
        try:
            status, _ = _get(f"{base}/health/ready")
        except OSError:
            status = None
        if status == 200:
            break
        time.sleep(0.2)
    yield process, base, env, time.monotonic() - started
    if process.poll() is None:
        process.kill()
        process.wait()


def test_embedded_mode_is_ready_answers_jobs_and_leaves_nothing_behind(embedded, tmp_path):
    process, base, env, ready_after = embedded
    status, body = _get(f"{base}/health/ready")
    assert status == 200, body
    assert ready_after < 60

    # A second terminal: the CLI finds the embedded Redis and gets the worker's result.
    cli = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "jobs", "run", "health-check", "--wait", "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout.strip().splitlines()[-1])["status"] == "ok"

    # The data-bound commands refuse to run against mongomock from a second process.
    refused = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "jobs", "run", "health-check", "--sync"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "make run" in refused.stderr

    settings = json.loads((tmp_path / "redis.db.settings").read_text())
    redis_pid = int(Path(settings["pidfile"]).read_text())
    assert _alive(redis_pid)

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "GoalGetter backend is up (embedded mode" in output
    deadline = time.monotonic() + 10
    while _alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(redis_pid)
    assert not (tmp_path / "redis.db.settings").exists()


def test_mongo_without_redis_is_refused_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app.launcher"],
        cwd=ROOT,
        env=_env(tmp_path, MONGO_URL="mongodb://127.0.0.1:27017/goalgetter"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "REDIS_URL" in result.stderr
