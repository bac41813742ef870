"""The Procfile's processes as subprocesses of a test: web (gunicorn), worker and scheduler,
started with the commands production runs, against the test session's servers."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from app.config import ROOT, testing_secrets
from app.processes import alive
from devtools.services import free_port

BIN = Path(sys.executable).parent
COMMANDS = {
    "web": [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
    "worker": [sys.executable, "worker.py"],
    "scheduler": [sys.executable, "scheduler.py"],
}
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def database_url(server_url: str, database: str) -> str:
    """`server_url` naming `database` (subprocesses take the database from the URL)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def process_env(mongo_url: str, redis_url: str, **extra) -> dict:
    """A clean environment for the app's processes: test mode, the given servers."""
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env.update(
        APP_ENV="test",
        MONGO_URL=mongo_url,
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        RATELIMIT_ENABLED="false",
    )
    # The test app's signing secrets: every process (and every gunicorn worker) shares them.
    env.update(testing_secrets())
    env.update({name: str(value) for name, value in extra.items()})
    return env


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc), deepest last."""
    by_parent: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        by_parent.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in by_parent.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def survivors(pids: list[int], timeout: float) -> list[int]:
    """Those of `pids` still alive after waiting up to `timeout` for all of them to go."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def wait_until(condition, timeout: float, message, step: float = 0.1):
    """Poll `condition` until it is truthy (returned); fail with `message` (a string, or a
    function called at the failure) after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    text = message() if callable(message) else message
    raise AssertionError(f"{text} (after {timeout:.0f} s)")


class Stack:
    """Processes of one test; each logs to a file under `logdir`; all stopped by close()."""

    def __init__(self, env: dict, logdir: Path, port: int | None = None):
        self.env = dict(env)
        self.port = port or free_port()
        self.env["PORT"] = str(self.port)
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.starts: dict[str, int] = {}

    @property
    def base(self) -> str:
        """The web process's API base URL."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self, name: str, **env) -> subprocess.Popen:
        """Start the Procfile process `name` (its own process group, output to a log file)."""
        number = self.starts.get(name, 0) + 1
        self.starts[name] = number
        log = open(self.logdir / f"{name}-{number}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            COMMANDS[name],
            cwd=ROOT,
            env={**self.env, **{k: str(v) for k, v in env.items()}},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def pid(self, name: str) -> int:
        """The pid of the running process `name`."""
        return self.processes[name].pid

    def running(self, name: str) -> bool:
        """Whether `name` is alive."""
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def signal(self, name: str, sig: int) -> None:
        """Send `sig` to the process `name` only (as a process manager does)."""
        self.processes[name].send_signal(sig)

    def kill(self, name: str) -> None:
        """SIGKILL `name` and every process it started (a dyno crash: the horse dies too)."""
        process = self.processes[name]
        family = children(process.pid)
        for pid in [process.pid, *family]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        survivors(family, 10)

    def stop(self, name: str, timeout: float = 40) -> int:
        """SIGTERM `name` and wait for it (SIGKILL after `timeout`); returns its exit code."""
        process = self.processes[name]
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(name)
        return process.returncode

    def log(self, name: str) -> str:
        """Everything `name` printed, over all its starts."""
        return "".join(
            (self.logdir / f"{name}-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts.get(name, 0) + 1)
        )

    def wait_serving(self, timeout: float = 30) -> None:
        """Wait until the web process answers /health with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the web process never served /health\n{self.tail()}")

    def get(self, path: str, timeout: float = 15, headers: dict | None = None):
        """(status, JSON body, seconds taken) of GET `path` on the web process."""
        started = time.monotonic()
        request = urllib.request.Request(f"{self.base}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            body, status = error.read(), error.code
        return status, json.loads(body or b"null"), time.monotonic() - started

    def post(self, path: str, payload: dict | None = None, headers: dict | None = None):
        """(status, JSON body, seconds taken) of POST `path` with a JSON body."""
        return self.send("POST", path, payload, headers)

    def patch(self, path: str, payload: dict | None = None, headers: dict | None = None):
        """(status, JSON body, seconds taken) of PATCH `path` with a JSON body."""
        return self.send("PATCH", path, payload, headers)

    def send(self, method: str, path: str, payload: dict | None, headers: dict | None):
        """(status, JSON body, seconds taken) of `method` `path` with a JSON body."""
        started = time.monotonic()
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(payload or {}).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                body, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            body, status = error.read(), error.code
        return status, json.loads(body or b"null"), time.monotonic() - started

    def wait_ready(self, timeout: float = 60) -> dict:
        """Poll /health/ready until 200; returns its body (fails with the last one)."""
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            try:
                status, body, _ = self.get("/health/ready", timeout=5)
            except OSError:
                status = None
            if status == 200:
                return body
            time.sleep(0.25)
        raise AssertionError(f"not ready within {timeout} s: {body}\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The last lines of every process log, for failure messages."""
        parts = []
        for name in self.starts:
            text = self.log(name).splitlines()[-lines:]
            parts.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def close(self) -> None:
        """Stop every process still running."""
        for name in list(self.processes):
            if self.running(name):
                self.stop(name, timeout=15)
