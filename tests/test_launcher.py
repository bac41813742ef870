"""`make run`'s launcher as a real process: embedded servers, the Procfile's processes, data
that survives a restart, a second terminal's CLI, and nothing left behind once stopped."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.config import ROOT
from devtools.services import free_port
from tests.processes import children, survivors

BIN = Path(sys.executable).parent
ACCOUNT = {"email": "kept@example.com", "password": "a-long-password", "name": "Kept"}


def _env(instance, **extra) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {**keep, "APP_ENV": "development", "INSTANCE_PATH": str(instance), **extra}


def _call(url: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Run:
    """One `python -m devtools.launcher` (what `make run` runs)."""

    def __init__(self, instance: Path, port: int, *args: str):
        self.env = _env(instance, PORT=str(port))
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.log = instance.parent / f"launcher-{time.monotonic_ns()}.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devtools.launcher", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        started = time.monotonic()
        while True:
            assert self.process.poll() is None, f"launcher exited:\n{self.output()}"
            assert time.monotonic() - started < 120, f"never ready:\n{self.output()}"
            if "GoalGetter backend is up" in self.output():
                break
            time.sleep(0.2)
        self.ready_after = time.monotonic() - started

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def family(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> int:
        family = self.family()
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self.left = survivors(family, 15)
        return code


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


def test_make_run_is_the_production_topology_and_keeps_data(instance):
    port = free_port()
    run = Run(instance, port)
    try:
        status, body = _call(f"{run.base}/health/ready")
        assert status == 200 and all(check["ok"] for check in body["checks"].values()), body
        assert run.ready_after < 60
        commands = [_cmdline(pid) for pid in run.family()]
        # Separate processes, the Procfile's own commands, and the two embedded servers.
        for expected in ("gunicorn -c gunicorn.conf.py wsgi:app", "worker.py", "scheduler.py"):
            assert any(expected in command for command in commands), commands
        assert any("secantusd-py" in command for command in commands), commands
        assert any("redis-server" in command for command in commands), commands
        assert _call(f"{run.base}/auth/signup", ACCOUNT)[0] == 201

        # A second terminal: the CLI finds the embedded servers; the worker answers.
        cli = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "jobs", "run", "health-check", "--wait", "30"],
            cwd=ROOT,
            env=run.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout.strip().splitlines()[-1])["status"] == "ok"
    finally:
        code = run.stop()
    assert code == 0, run.output()
    assert run.left == [], [_cmdline(pid) for pid in run.left]
    assert not (instance / "services.json").exists()

    again = Run(instance, port)
    try:
        login = {"email": ACCOUNT["email"], "password": ACCOUNT["password"]}
        assert _call(f"{again.base}/auth/login", login)[0] == 200
    finally:
        assert again.stop() == 0
    assert again.left == []

    reset = Run(instance, port, "--reset")
    try:
        login = {"email": ACCOUNT["email"], "password": ACCOUNT["password"]}
        assert _call(f"{reset.base}/auth/login", login)[0] == 401
    finally:
        assert reset.stop() == 0


def test_seed_goes_through_the_running_services(instance):
    run = Run(instance, free_port(), "--seed")
    try:
        assert "demo@goalgetter.example" in run.output()
        login = {"email": "demo@goalgetter.example", "password": "demo-password-123"}
        status, session = _call(f"{run.base}/auth/login", login)
        assert status == 200 and session["user"]["phase"] == "tracking"
    finally:
        assert run.stop() == 0
    assert run.left == []


def test_a_bad_configuration_is_refused_in_one_line(instance):
    result = subprocess.run(
        [sys.executable, "-m", "devtools.launcher"],
        cwd=ROOT,
        env=_env(instance, COACH_PROVIDER="nope"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "COACH_PROVIDER" in result.stderr
