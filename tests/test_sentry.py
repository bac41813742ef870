"""Sentry (Flask + RQ integrations) against a local fake Sentry server."""

import gzip
import json
import time

import pytest
import sentry_sdk
from flask import Blueprint

from app import queue as job_queue
from tests.fake_http import FakeServer
from tests.workers import BurstWorker


def _events(server: FakeServer) -> list[dict]:
    events = []
    for request in server.requests:
        body = request.body
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        # An envelope: header line, then (item header, payload) pairs.
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


@pytest.fixture
def sentry(make_app):
    server = FakeServer()
    app = make_app(SENTRY_DSN=f"http://publickey@{server.url.removeprefix('http://')}/1")
    yield app, server
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off for the rest of the session
    server.close()


def _wait_for_events(server, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    sentry_sdk.flush()
    while len(_events(server)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _events(server)


def test_a_500_produces_one_event(sentry):
    app, server = sentry
    blueprint = Blueprint("sentry_probe", __name__)

    @blueprint.route("/api/v1/sentry-probe")
    def probe():
        raise RuntimeError("probe failure in a request")

    app.register_blueprint(blueprint)
    response = app.test_client().get("/api/v1/sentry-probe")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    events = _wait_for_events(server, 1)
    assert len(events) == 1
    exception = events[0]["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "probe failure in a request"


def test_a_failing_job_produces_one_event(sentry, redis_conn):
    app, server = sentry
    with app.app_context():
        job = job_queue.enqueue("tests.jobs_for_tests.explode", "for sentry")
    BurstWorker.for_app(app, redis_conn).work(burst=True)
    events = _wait_for_events(server, 1)
    assert len(events) == 1
    assert events[0]["exception"]["values"][-1]["value"] == "exploded: for sentry"
    assert events[0]["extra"]["rq-job"]["job_id"] == job.id
