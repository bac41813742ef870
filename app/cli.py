"""The `flask --app wsgi …` commands: ensure-indexes and jobs."""

import json
import time
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from pymongo.errors import PyMongoError

from app.db import INDEX_BUILD_TIMEOUT_S, ensure_indexes
from app.email.cli import email_cli
from app.jobs.table import RECURRING, runnable_jobs
from app.queue import enqueue

jobs_cli = AppGroup("jobs", help="Run and list background jobs.")
users_cli = AppGroup("users", help="Manage users.")


@click.command("ensure-indexes")
@with_appcontext
def ensure_indexes_command():
    """Create every MongoDB index (idempotent)."""
    try:
        created = ensure_indexes(build_timeout_s=INDEX_BUILD_TIMEOUT_S)
    except PyMongoError as exc:
        raise click.ClickException(f"cannot create indexes: {exc}") from None
    for collection, names in created.items():
        click.echo(f"{collection}: {', '.join(names)}")


def _parse_now(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter("must be ISO 8601, e.g. 2026-12-01T09:00:00Z") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("must carry an offset, e.g. Z or +01:00")
    return moment.isoformat()


@jobs_cli.command("run")
@click.argument("name")
@click.option("--now", "now", default=None, help="Simulated time (ISO 8601 with offset).")
@click.option("--sync", is_flag=True, help="Run in this process instead of on a worker.")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for the result.")
def run_job(name: str, now: str | None, sync: bool, wait: float):
    """Run the recurring job or `health-check` called NAME and print its result."""
    jobs = runnable_jobs()
    if name not in jobs:
        raise click.BadParameter(f"unknown job; choose from {', '.join(sorted(jobs))}")
    spec = jobs[name]
    production = current_app.config["APP_ENV"] == "production"
    if (sync or now) and production:
        raise click.ClickException("--sync and --now are for development and tests only")
    if now and not spec.takes_now:
        raise click.BadParameter(f"{name} takes no --now")
    kwargs = {"now": _parse_now(now)} if now else {}
    if sync:
        from rq.utils import import_attribute

        result = import_attribute(spec.func)(**kwargs)
        click.echo(json.dumps(result, default=str))
        return
    job = enqueue(spec.func, meta={"name": name}, **kwargs)
    click.echo(f"enqueued {name} as job {job.id} on {job.origin}", err=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == "finished":
            click.echo(json.dumps(job.return_value(refresh=True), default=str))
            return
        if status in ("failed", "stopped", "canceled"):
            result = job.latest_result()
            detail = result.exc_string if result is not None else ""
            raise click.ClickException(f"job {job.id} {status}: {detail}".strip())
        time.sleep(0.2)
    raise click.ClickException(f"no result within {wait:.0f}s (is a worker running?)")


@jobs_cli.command("list")
def list_jobs():
    """List the recurring jobs with their next run in UTC."""
    from app.jobs.recurring import RecurringScheduler, next_runs
    from app.redis import get_redis

    scheduled = dict(next_runs(RecurringScheduler(connection=get_redis())))
    if not RECURRING:
        click.echo("(the recurring table is empty)")
    for entry in RECURRING:
        when = scheduled.get(entry.id)
        next_run = when.strftime("%Y-%m-%d %H:%M UTC") if when else "not scheduled"
        click.echo(f"{entry.id:28} {entry.cron:14} {entry.queue:14} next: {next_run}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Seed the demo data into MongoDB."""
    from app.seed import seed_demo

    click.echo(json.dumps(seed_demo()))


@users_cli.command("grant-admin")
@click.argument("email")
def grant_admin_command(email: str):
    """Make the user with EMAIL an administrator."""
    from app.errors import NotFound
    from app.users.service import grant_admin

    try:
        user = grant_admin(email)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{user['email']} is now an admin")


def register_cli(app: Flask) -> None:
    """Add the project's commands to `flask`."""
    app.cli.add_command(email_cli)
    app.cli.add_command(ensure_indexes_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(users_cli)
