"""The flask CLI: ensure-indexes and jobs."""

import json

from tests.production import STRONG_SECRETS


def test_jobs_run_health_check_gets_the_worker_result(app, processes):
    # A real worker process (worker.py), as in production.
    processes().start("worker")
    result = app.test_cli_runner().invoke(args=["jobs", "run", "health-check", "--wait", "30"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["status"] == "ok"


def test_jobs_run_without_worker_times_out_clearly(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "health-check", "--wait", "0.5"])
    assert result.exit_code != 0
    assert "no result within" in result.output


def test_jobs_run_sync_runs_in_process(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "health-check", "--sync"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"


def test_jobs_run_rejects_unknown_names_and_misplaced_now(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["jobs", "run", "nope"])
    assert unknown.exit_code != 0 and "unknown job" in unknown.output
    now = runner.invoke(args=["jobs", "run", "health-check", "--now", "2026-12-01T09:00:00Z"])
    assert now.exit_code != 0 and "takes no --now" in now.output


def test_sync_is_refused_in_production(make_app):
    app = make_app(
        APP_ENV="production",
        MONGO_URL="mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=100",
        **STRONG_SECRETS,
    )
    result = app.test_cli_runner().invoke(args=["jobs", "run", "health-check", "--sync"])
    assert result.exit_code != 0
    assert "development and tests only" in result.output


def test_ensure_indexes_lists_indexes(app):
    result = app.test_cli_runner().invoke(args=["ensure-indexes"])
    assert result.exit_code == 0, result.output
    assert "users: email_unique, google_sub_unique" in result.output


def test_jobs_list_shows_the_table_with_next_runs_in_utc(app, redis_conn):
    from app.jobs.recurring import RecurringScheduler

    before = app.test_cli_runner().invoke(args=["jobs", "list"]).output
    assert before.count("not scheduled") == 3
    for _restart in range(5):
        RecurringScheduler(connection=redis_conn).enqueue_jobs()
    listing = app.test_cli_runner().invoke(args=["jobs", "list"]).output.strip().splitlines()
    assert [line.split()[0] for line in listing] == [
        "update-meeting-statuses",
        "send-meeting-reminders",
        "cleanup-old-messages",
    ]
    assert all(line.endswith(" UTC") for line in listing)
    assert "03:00 UTC" in listing[2]
    assert redis_conn.zcard("rq:scheduler:scheduled_jobs") == 3
