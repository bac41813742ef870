"""GET /metrics in-process: who may read it, what it counts and how (several processes: see
test_running_system.py)."""

import base64
import time
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.email import send
from app.jobs.recurring import HEARTBEAT_KEY
from app.queue import enqueue
from tests.email_support import API_KEY, T0, advance, make_meeting, make_user
from tests.workers import BurstWorker

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client) -> dict[tuple, float]:
    """The samples of one authorised scrape."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)
    return samples(response.get_data(as_text=True))


@pytest.fixture
def metered(make_app):
    return make_app(METRICS_TOKEN=TOKEN)


def test_only_the_token_opens_metrics(metered):
    client = metered.test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Basic " + base64.b64encode(b"prometheus:wrong").decode()},
        {"Authorization": f"Token {TOKEN}"},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"]["code"] == "metrics_auth_required"
        assert (
            response.headers["WWW-Authenticate"] == 'Bearer realm="metrics", Basic realm="metrics"'
        )
    basic = base64.b64encode(f"prometheus:{TOKEN}".encode()).decode()
    for headers in (BEARER, {"Authorization": f"Basic {basic}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200
        assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert client.get("/api/v1/metrics", headers=BEARER).status_code == 404


def test_without_a_token_metrics_are_disabled(make_app):
    response = make_app(METRICS_TOKEN=None).test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "metrics_disabled"


def test_metrics_are_never_rate_limited(make_app):
    client = make_app(METRICS_TOKEN=TOKEN, RATELIMIT_ENABLED=True, RATE_LIMIT_PER_MINUTE=2)
    client = client.test_client()
    assert [client.get("/metrics", headers=BEARER).status_code for _ in range(6)] == [200] * 6
    assert [client.get("/api/v1/meetings").status_code for _ in range(3)][-1] == 429


def test_requests_are_counted_by_route_template_and_status(metered):
    client = metered.test_client()
    for meeting_id in ("a" * 24, "b" * 24, "c" * 24):
        client.post(f"/api/v1/meetings/{meeting_id}/cancel")
    client.get("/api/v1/health")
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    found = scrape(client)
    route = "/api/v1/meetings/<meeting_id>/cancel"
    labels = (("method", "POST"), ("route", route), ("status", "401"))
    assert found[("goalgetter_http_requests_total", labels)] == 3
    health = (("method", "GET"), ("route", "/api/v1/health"), ("status", "200"))
    assert found[("goalgetter_http_requests_total", health)] == 1
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert found[("goalgetter_http_requests_total", unmatched)] == 2
    assert not any("aaaa" in str(key) or "/no/such" in str(key) for key in found)
    duration = (("method", "POST"), ("route", route))
    assert found[("goalgetter_http_request_duration_seconds_count", duration)] == 3
    assert (
        found[
            (
                "goalgetter_http_request_duration_seconds_bucket",
                tuple(sorted((*duration, ("le", "+Inf")))),
            )
        ]
        == 3
    )
    assert 0 < found[("goalgetter_http_request_duration_seconds_sum", duration)] < 3


def _email(found, email_type: str, status: str) -> float:
    return found.get(("goalgetter_emails_total", (("status", status), ("type", email_type))), 0.0)


def test_emails_and_reminder_lateness(make_app, fake_sendgrid, frozen_clock, run_worker):
    frozen_clock.set_now(T0)
    app = make_app(
        METRICS_TOKEN=TOKEN, SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake_sendgrid.url
    )
    with app.app_context():
        user = make_user(notifications={"progress": False})
        start = T0 + timedelta(hours=1)
        meeting = make_meeting(user, start)
        send.send_reminder(meeting["_id"], user["_id"], "1h", start)  # due at T0
        send.send_phase_transition(user["_id"])
    found = scrape(app.test_client())
    assert _email(found, "meeting_reminder", "queued") == 1
    assert _email(found, "phase_transition", "opted_out") == 1
    assert found[("goalgetter_outbox_pending", ())] == 1
    assert found[("goalgetter_outbox_oldest_pending_seconds", ())] == 0
    advance(7)
    later = scrape(app.test_client())
    assert later[("goalgetter_outbox_oldest_pending_seconds", ())] == 7
    run_worker(app)
    found = scrape(app.test_client())
    assert _email(found, "meeting_reminder", "sent") == 1
    assert found[("goalgetter_outbox_pending", ())] == 0
    assert found[("goalgetter_reminder_lateness_seconds_count", ())] == 1
    assert found[("goalgetter_reminder_lateness_seconds_sum", ())] == 7
    assert found[("goalgetter_reminder_lateness_seconds_bucket", (("le", "5"),))] == 0
    assert found[("goalgetter_reminder_lateness_seconds_bucket", (("le", "15"),))] == 1


def test_queues_workers_and_the_scheduler_heartbeat(metered, redis_conn):
    client = metered.test_client()
    found = scrape(client)
    assert found[("goalgetter_scheduler_heartbeat_age_seconds", ())] == float("inf")
    assert found[("goalgetter_rq_workers", ())] == 0
    redis_conn.set(HEARTBEAT_KEY, repr(time.time() - 30))
    BurstWorker.for_app(metered, redis_conn).register_birth()
    with metered.app_context():
        enqueue("app.jobs.maintenance.health_check")
        enqueue("app.jobs.maintenance.health_check")
    found = scrape(client)
    assert 30 <= found[("goalgetter_scheduler_heartbeat_age_seconds", ())] < 40
    assert found[("goalgetter_rq_workers", ())] == 1
    assert found[("goalgetter_rq_queue_jobs", (("queue", "default"),))] == 2
    assert found[("goalgetter_rq_queue_jobs", (("queue", "email"),))] == 0


def test_with_redis_down_requests_still_work_and_metrics_say_so(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    found = scrape(client)
    assert found[("goalgetter_store_up", (("store", "redis"),))] == 0
    assert found[("goalgetter_store_up", (("store", "mongo"),))] == 1
    assert ("goalgetter_outbox_pending", ()) in found
