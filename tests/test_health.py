"""GET /api/v1/health and /api/v1/health/ready."""

import time

import pytest

from app.jobs.recurring import RecurringScheduler
from tests.accounts import bearer, login, make_user
from tests.workers import BurstWorker


@pytest.fixture
def app(make_app):
    """These tests read the details, which development shows to anyone."""
    return make_app(HEALTH_DETAILS_PUBLIC=True)


def test_health_is_200_without_dependencies(make_app):
    app = make_app(REDIS_URL="unix:///nonexistent/redis.sock")
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_is_503_without_worker_and_scheduler(client):
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    checks = body["checks"]
    assert set(checks) == {"mongo", "redis", "worker", "scheduler"}
    assert checks["mongo"]["ok"] and checks["redis"]["ok"]
    assert not checks["worker"]["ok"]
    assert "high_priority, default, email" in checks["worker"]["detail"]
    assert not checks["scheduler"]["ok"]
    assert checks["scheduler"]["detail"].endswith("no scheduler heartbeat")


def test_ready_is_200_with_worker_and_scheduler(client, processes, redis_conn):
    stack = processes()
    stack.start("worker")
    deadline = time.monotonic() + 30
    while not redis_conn.scard("rq:workers") and time.monotonic() < deadline:
        time.sleep(0.1)
    RecurringScheduler(connection=redis_conn, table=()).enqueue_jobs()
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["worker"]["detail"] == "high_priority: 1, default: 1, email: 1"


def test_a_worker_on_some_queues_only_is_not_enough(app, client, redis_conn):
    worker = BurstWorker.for_app(app, redis_conn, queues=("email",))
    worker.register_birth()
    RecurringScheduler(connection=redis_conn, table=()).enqueue_jobs()
    checks = client.get("/api/v1/health/ready").get_json()["checks"]
    assert checks["worker"] == {
        "ok": False,
        "detail": "RuntimeError: no live worker on high_priority, default",
    }


def test_stale_worker_heartbeat_is_not_live(app, client, redis_conn):
    worker = BurstWorker.for_app(app, redis_conn)
    worker.register_birth()
    redis_conn.hset(worker.key, "last_heartbeat", "2026-01-01T00:00:00.000000Z")
    checks = client.get("/api/v1/health/ready").get_json()["checks"]
    assert not checks["worker"]["ok"]


def test_stale_scheduler_heartbeat_is_not_ok(client, redis_conn):
    from app.jobs.recurring import HEARTBEAT_KEY

    redis_conn.set(HEARTBEAT_KEY, repr(time.time() - 300))
    checks = client.get("/api/v1/health/ready").get_json()["checks"]
    assert not checks["scheduler"]["ok"]
    assert "300s ago" in checks["scheduler"]["detail"]


def test_ready_reports_redis_down(make_app):
    app = make_app(REDIS_URL="unix:///nonexistent/redis.sock", HEALTH_DETAILS_PUBLIC=True)
    response = app.test_client().get("/api/v1/health/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["mongo"]["ok"]
    assert not checks["redis"]["ok"] and "ConnectionError" in checks["redis"]["detail"]
    assert not checks["worker"]["ok"] and not checks["scheduler"]["ok"]


def test_ready_reports_mongo_down(make_app):
    # Nothing listens on port 1; the URL's own timeout keeps the probe quick.
    app = make_app(
        MONGO_URL="mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300&timeoutMS=300",
        HEALTH_DETAILS_PUBLIC=True,
    )
    started = time.monotonic()
    response = app.test_client().get("/api/v1/health/ready")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert not checks["mongo"]["ok"] and checks["mongo"]["detail"]
    assert checks["redis"]["ok"]


MONGO_DOWN = "mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300&timeoutMS=300"


def test_the_public_sees_status_and_ok_only(make_app):
    # Outside development (here test rules, as production) nobody but an admin sees details.
    app = make_app(MONGO_URL=MONGO_DOWN)
    response = app.test_client().get("/api/v1/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {
        "status": "unavailable",
        "checks": {
            "mongo": {"ok": False},
            "redis": {"ok": True},
            "worker": {"ok": False},
            "scheduler": {"ok": False},
        },
    }
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_an_admin_sees_the_details(make_app):
    app = make_app(ADMIN_EMAILS=["boss@example.com"])
    client = app.test_client()
    make_user(app, email="boss@example.com", email_verified=True)
    make_user(app, email="ada@example.com")
    admin = bearer(login(client, email="boss@example.com")["access_token"])
    user = bearer(login(client, email="ada@example.com")["access_token"])
    checks = client.get("/api/v1/health/ready", headers=admin).get_json()["checks"]
    assert checks["mongo"] == {"ok": True, "detail": "ping ok"}
    for headers in (user, {"Authorization": "Bearer not-a-token"}, {}):
        response = client.get("/api/v1/health/ready", headers=headers)
        assert response.status_code == 503
        assert "detail" not in response.get_json()["checks"]["mongo"], headers
