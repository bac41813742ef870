"""`make run`: the whole system as production runs it, on this machine.

MongoDB and Redis are the ones in MONGO_URL and REDIS_URL; each one that is unset is started
here (SecantusDB and redis-server, data under INSTANCE_PATH, kept between runs). Then the
Procfile's `release` runs once and honcho runs its `web`, `worker` and `scheduler` as separate
processes, with exactly the commands production runs. Ctrl-C or SIGTERM stops them all, then
the servers started here.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from app import config
from devtools.services import MongoServer, RedisServer, die_with_parent

HOST = "127.0.0.1"
READY_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20
PROCESSES = ("web", "worker", "scheduler")


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (config.ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def _ready(base: str) -> tuple[bool, dict | None]:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/health/ready", timeout=5) as response:
            return response.status == 200, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return False, json.loads(error.read() or b"null")
    except (OSError, ValueError):
        return False, None


def banner(settings: dict, env: dict, started: dict[str, str], elapsed: float) -> str:
    """What is running where, and how to reach it."""
    base = f"http://{HOST}:{settings['PORT']}"
    lines = [
        "",
        f"GoalGetter backend is up in {elapsed:.0f} s (APP_ENV={env['APP_ENV']})",
        f"  API            {base}/api/v1",
        f"  readiness      {base}/api/v1/health/ready",
        f"  docs           {base}/api/v1/docs",
        f"  rq-dashboard   {base}/admin/rq/   (user {env['RQ_DASHBOARD_USERNAME']}, "
        f"password {env['RQ_DASHBOARD_PASSWORD']})",
    ]
    if env["APP_ENV"] == "development":
        lines.append(f"  dev outbox     {base}/dev/emails   (every email, sent or not)")
    for name in ("MONGO_URL", "REDIS_URL"):
        where = started.get(name, "from the environment")
        lines.append(f"  {name:<14} {env[name]}   ({where})")
    lines.append(f"  processes      {', '.join(PROCESSES)} (honcho, the Procfile's commands)")
    lines.append("  stop with Ctrl-C")
    return "\n".join(lines)


class Launcher:
    """Servers, release, honcho; and stopping all of it."""

    def __init__(self, settings: dict, reset: bool):
        self.settings = settings
        self.instance = Path(settings["INSTANCE_PATH"])
        self.reset = reset
        self.servers: list = []
        self.honcho: subprocess.Popen | None = None
        self.services_file = self.instance / config.EMBEDDED_SERVICES_FILE
        self.stopping = False

    def start_servers(self, env: dict) -> dict[str, str]:
        """Start SecantusDB and Redis for the URLs that are unset; returns what was started."""
        if self.reset:
            for name in ("mongo", "redis"):
                shutil.rmtree(self.instance / name, ignore_errors=True)
        self.instance.mkdir(parents=True, exist_ok=True)
        started = {}
        if not self.settings.get("MONGO_URL"):
            print("starting SecantusDB (MongoDB wire server) …", flush=True)
            mongo = MongoServer(self.instance / "mongo", log_path=self.instance / "mongo.log")
            self.servers.append(mongo.start(tie_to_parent=True))
            env["MONGO_URL"] = mongo.url_for("goalgetter")
            started["MONGO_URL"] = f"SecantusDB, data in {self.instance / 'mongo'}"
        if not self.settings.get("REDIS_URL"):
            print("starting Redis …", flush=True)
            redis_server = RedisServer(
                self.instance / "redis", persist=True, log_path=self.instance / "redis.log"
            )
            self.servers.append(redis_server.start(tie_to_parent=True))
            env["REDIS_URL"] = redis_server.url
            started["REDIS_URL"] = f"redis-server, data in {self.instance / 'redis'}"
        self.services_file.write_text(
            json.dumps(
                {"pid": os.getpid(), "MONGO_URL": env["MONGO_URL"], "REDIS_URL": env["REDIS_URL"]}
            )
        )
        return started

    def run_release(self, env: dict) -> None:
        """The Procfile's release phase, once."""
        release = _procfile()["release"]
        print(f"release: {release}", flush=True)
        subprocess.run(release, shell=True, check=True, env=env, cwd=config.ROOT)

    def start_processes(self, env: dict) -> None:
        """honcho runs web, worker and scheduler (web first, so it gets PORT)."""
        bin_dir = Path(sys.executable).parent
        self.honcho = subprocess.Popen(
            [
                str(bin_dir / "honcho"),
                "start",
                # config.py reads .env itself; honcho must not load it a second time.
                "--env",
                os.devnull,
                "-f",
                "Procfile",
                "-p",
                str(self.settings["PORT"]),
                *PROCESSES,
            ],
            env=env,
            cwd=config.ROOT,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self) -> bool:
        """Poll /health/ready until every check is ok (or honcho ends, or time runs out)."""
        base = f"http://{HOST}:{self.settings['PORT']}"
        deadline = time.monotonic() + READY_TIMEOUT_S
        checks = None
        while time.monotonic() < deadline and not self.stopping:
            if self.honcho.poll() is not None:
                return False
            ok, body = _ready(base)
            if ok:
                return True
            checks = (body or {}).get("checks") or checks
            time.sleep(0.5)
        if checks:
            failing = {k: v.get("detail") for k, v in checks.items() if not v.get("ok")}
            print(f"not ready after {READY_TIMEOUT_S} s: {failing}", file=sys.stderr, flush=True)
        return False

    def request_stop(self, signum, frame) -> None:
        """Ctrl-C / SIGTERM: stop honcho (which stops its processes); servers follow."""
        self.stopping = True
        if self.honcho is not None and self.honcho.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.honcho.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop honcho's processes, then the servers; remove the services file."""
        if self.honcho is not None and self.honcho.poll() is None:
            self.honcho.send_signal(signal.SIGTERM)
            try:
                self.honcho.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.honcho.kill()
                self.honcho.wait()
        for server in reversed(self.servers):
            server.stop()
        with contextlib.suppress(FileNotFoundError):
            self.services_file.unlink()


def child_environment(settings: dict) -> dict:
    """The environment every process gets: this virtualenv first on PATH, development mode,
    one rq-dashboard login for all of them, gunicorn on loopback."""
    env = dict(os.environ)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["APP_ENV"] = settings["APP_ENV"]
    env["PYTHONUNBUFFERED"] = "1"
    # app.config is the one .env loader; Flask's CLI (the release command) must not be another.
    env["FLASK_SKIP_DOTENV"] = "1"
    env.setdefault("RQ_DASHBOARD_USERNAME", settings["RQ_DASHBOARD_USERNAME"] or "admin")
    env.setdefault("RQ_DASHBOARD_PASSWORD", secrets.token_urlsafe(12))
    # Production binds every interface; on a laptop the web process stays on loopback.
    env["GUNICORN_CMD_ARGS"] = f"--bind {HOST}:{settings['PORT']}"
    for name in ("MONGO_URL", "REDIS_URL"):
        if settings.get(name):
            env[name] = settings[name]
    return env


def main(argv=None) -> int:
    """Start everything, wait for Ctrl-C or SIGTERM, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", action="store_true", help="seed the demo account")
    parser.add_argument("--reset", action="store_true", help="start with empty databases")
    args = parser.parse_args(argv)
    os.environ.setdefault("APP_ENV", "development")
    try:
        settings = config.load()
        config.check(settings)
    except config.ConfigError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    # The embedded servers are found through the services file, never through a stale one.
    for name, url in config.embedded_services(settings["INSTANCE_PATH"]).items():
        if settings.get(name) == url:
            print(f"refusing to start: another `make run` is using {url}", file=sys.stderr)
            return 2
    launcher = Launcher(settings, reset=args.reset)
    signal.signal(signal.SIGTERM, launcher.request_stop)
    signal.signal(signal.SIGINT, launcher.request_stop)
    env = child_environment(settings)
    started_at = time.monotonic()
    try:
        started = launcher.start_servers(env)
        launcher.run_release(env)
        launcher.start_processes(env)
        if not launcher.wait_ready():
            return 0 if launcher.stopping else 1
        if args.seed:
            seed = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "seed-demo"]
            subprocess.run(seed, check=True, env=env, cwd=config.ROOT)
        print(banner(settings, env, started, time.monotonic() - started_at), flush=True)
        launcher.honcho.wait()
        return 0 if launcher.stopping else 1
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping …", flush=True)
        launcher.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
