"""JSON log lines with request and job context."""

import io
import json
import logging

import pytest

from app import queue as job_queue


@pytest.fixture
def json_log(make_app):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_goalgetter", False))
    stream = io.StringIO()
    handler.setStream(stream)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    return app, lines


def test_request_line_carries_request_id_path_status_duration(json_log):
    app, lines = json_log
    response = app.test_client().get("/api/v1/health", headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["X-Request-ID"] == "req-abc-123"
    records = [r for r in lines() if r.get("name") == "app.request"]
    assert len(records) == 1
    record = records[0]
    assert record["request_id"] == "req-abc-123"
    assert record["path"] == "/api/v1/health"
    assert record["status"] == 200
    assert record["method"] == "GET"
    assert isinstance(record["duration_ms"], float)
    assert record["levelname"] == "INFO"


def test_request_id_is_generated_when_missing_or_unsafe(json_log):
    app, lines = json_log
    response = app.test_client().get("/api/v1/health", headers={"X-Request-ID": 'bad id {"x": 1}'})
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()
    assert [r["request_id"] for r in lines() if r.get("name") == "app.request"] == [generated]


def test_error_responses_are_logged_with_request_id(json_log):
    app, lines = json_log
    response = app.test_client().get("/api/v1/nowhere")
    assert response.status_code == 404
    record = next(r for r in lines() if r.get("name") == "app.request")
    assert record["status"] == 404 and record["request_id"] == response.headers["X-Request-ID"]


def test_job_lines_carry_job_id_and_name(json_log, redis_conn):
    from tests.workers import BurstWorker

    app, lines = json_log
    with app.app_context():
        job = job_queue.enqueue("tests.jobs_for_tests.log_something")
    BurstWorker.for_app(app, redis_conn).work(burst=True)
    record = next(r for r in lines() if r.get("message") == "inside the job")
    assert record["job_id"] == job.id
    assert record["job_name"] == "tests.jobs_for_tests.log_something"
    assert "request_id" not in record


def test_an_authenticated_request_line_carries_the_user_id(json_log):
    from tests.accounts import bearer, login, make_user

    app, lines = json_log
    client = app.test_client()
    user = make_user(app)
    token = login(client)["access_token"]
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/users/me", headers=bearer("not-a-token")).status_code == 401
    records = [r for r in lines() if r.get("path") == "/api/v1/users/me"]
    assert [r.get("user_id") for r in records] == [str(user["_id"]), None]
