"""The admin API: jobs run by name under ids of their own, their results, the email log."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq_scheduler import Scheduler

from app import clock
from app.db import get_db
from app.email.outbox import queue_email, with_bodies
from app.jobs.recurring import next_runs, sync
from app.jobs.table import RECURRING, runnable_jobs
from app.queue import QUEUES
from tests.accounts import bearer, login, make_user
from tests.email_support import T0
from tests.meetings_support import session

JOB_NAMES = (
    "health-check",
    "update-meeting-statuses",
    "send-meeting-reminders",
    "cleanup-old-messages",
    "recover-lost-jobs",
)
AT = datetime(2031, 1, 20, 10, 0, tzinfo=UTC)
TOKEN_VALUE = re.compile(r"[?&]token=([^&\"'\s<>]+)")


@pytest.fixture
def client(email_app):
    return email_app.test_client()


@pytest.fixture
def admin(email_app, client):
    headers = session(email_app, client, email="root@example.com", name="Root")
    result = email_app.test_cli_runner().invoke(args=["users", "grant-admin", "root@example.com"])
    assert result.exit_code == 0, result.output
    return headers


@pytest.fixture
def ada(email_app, client):
    return session(email_app, client)


def _run(client, headers, name, **body):
    return client.post(f"/api/v1/admin/jobs/{name}", headers=headers, json=body or None)


def _job(client, headers, job_id) -> dict:
    response = client.get(f"/api/v1/admin/jobs/{job_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _error(response, status, code):
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    return response.get_json()["error"]


def _queued(connection) -> int:
    return sum(Queue(name, connection=connection).count for name in QUEUES)


def test_every_runnable_job_is_covered_here():
    assert set(runnable_jobs()) == set(JOB_NAMES)


@pytest.mark.parametrize("name", JOB_NAMES)
def test_a_job_runs_under_an_id_of_its_own_and_reports_its_result(
    email_app, client, admin, run_worker, redis_conn, name
):
    scheduler = Scheduler(connection=redis_conn)
    sync(scheduler)
    schedule_before = next_runs(scheduler)

    response = _run(client, admin, name)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["job_id"] not in {entry.id for entry in RECURRING}
    assert uuid.UUID(job["job_id"])
    assert job["name"] == name and job["status"] == "queued"
    assert job["result"] is None and job["ended_at"] is None
    assert job["enqueued_at"].endswith("Z")
    second = _run(client, admin, name).get_json()
    assert second["job_id"] != job["job_id"]
    assert next_runs(scheduler) == schedule_before

    assert run_worker(email_app)
    done = _job(client, admin, job["job_id"])
    assert done["status"] == "finished", done
    assert done["name"] == name and done["job_id"] == job["job_id"]
    assert done["result"]["status"] == "ok"
    assert done["ended_at"].endswith("Z") and done["enqueued_at"] == job["enqueued_at"]
    assert _job(client, admin, second["job_id"])["status"] == "finished"


def test_now_reaches_the_jobs_that_take_it(email_app, client, admin, ada, run_worker, redis_conn):
    meeting = client.post(
        "/api/v1/meetings", headers=ada, json={"scheduled_at": clock.isoformat(AT)}
    ).get_json()
    cleanup = _run(client, admin, "cleanup-old-messages", now="2031-06-01T12:00:00+02:00")
    assert cleanup.status_code == 202, cleanup.get_json()
    assert Job.fetch(cleanup.get_json()["job_id"], connection=redis_conn).kwargs == {
        "now": "2031-06-01T12:00:00+02:00"
    }
    reminders = _run(client, admin, "send-meeting-reminders", now="2031-01-19T10:00:00Z")
    run_worker(email_app)
    # After the reminder sweep: the status run would otherwise make the meeting active first.
    statuses = _run(client, admin, "update-meeting-statuses", now="2031-01-20T10:10:00Z")
    run_worker(email_app)

    cutoff = datetime(2031, 6, 1, 10, 0, tzinfo=UTC) - timedelta(days=90)
    assert _job(client, admin, cleanup.get_json()["job_id"])["result"]["cutoff"] == (
        clock.isoformat(cutoff)
    )
    assert _job(client, admin, reminders.get_json()["job_id"])["result"]["reminders"] == {
        "24h": 1,
        "1h": 0,
    }
    assert _job(client, admin, statuses.get_json()["job_id"])["result"]["activated"] == 1
    [listed] = client.get("/api/v1/meetings", headers=ada).get_json()["meetings"]
    assert listed["id"] == meeting["id"] and listed["status"] == "active"
    with email_app.app_context():
        assert get_db().email_log.count_documents({"type": "meeting_reminder"}) == 1


def test_without_now_a_job_uses_the_clock(email_app, client, admin, run_worker, redis_conn):
    job = _run(client, admin, "cleanup-old-messages").get_json()
    assert Job.fetch(job["job_id"], connection=redis_conn).kwargs == {}
    run_worker(email_app)
    result = _job(client, admin, job["job_id"])["result"]
    assert result["cutoff"] == clock.isoformat(T0 - timedelta(days=90))


@pytest.mark.parametrize(
    "now",
    [
        "2031-01-20T10:00:00",
        "2031-01-20",
        "soon",
        "",
        None,
        12,
        {"$gt": ""},
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_a_bad_now_is_422(client, admin, redis_conn, now):
    response = client.post(
        "/api/v1/admin/jobs/update-meeting-statuses", headers=admin, json={"now": now}
    )
    assert set(_error(response, 422, "validation_error")["details"]["fields"]) == {"now"}
    assert _queued(redis_conn) == 0


def test_health_check_takes_no_now(client, admin, redis_conn):
    response = _run(client, admin, "health-check", now="2031-01-20T10:00:00Z")
    assert set(_error(response, 422, "validation_error")["details"]["fields"]) == {"now"}
    assert _queued(redis_conn) == 0


def test_now_is_refused_in_production(email_app, client, admin, redis_conn):
    # Only the flag matters here: the app keeps its test servers and says it is production.
    email_app.config["APP_ENV"] = "production"
    for name in JOB_NAMES:
        response = _run(client, admin, name, now="2031-01-20T10:00:00Z")
        assert set(_error(response, 422, "validation_error")["details"]["fields"]) == {"now"}
    assert _queued(redis_conn) == 0
    assert _run(client, admin, "update-meeting-statuses").status_code == 202


@pytest.mark.parametrize(
    "name",
    [
        "nope",
        "Health-Check",
        "update_meeting_statuses",
        "send-meeting-reminder",
        "app.jobs.maintenance.health_check",
        "reminder-24h-0-0",
        "x" * 300,
    ],
)
def test_an_unknown_job_name_is_404(client, admin, redis_conn, name):
    _error(_run(client, admin, name), 404, "unknown_job")
    _error(_run(client, admin, name, now="2031-01-20T10:00:00Z"), 404, "unknown_job")
    assert _queued(redis_conn) == 0


@pytest.mark.parametrize(
    "job_id", [str(uuid.uuid4()), "update-meeting-statuses", "x" * 129, "a.b", "%24ne", "a b"]
)
def test_an_unknown_job_id_is_404(client, admin, job_id):
    _error(client.get(f"/api/v1/admin/jobs/{job_id}", headers=admin), 404, "not_found")


def test_admin_routes_refuse_everyone_else(email_app, client, ada, redis_conn):
    job_id = str(uuid.uuid4())
    calls = [
        ("POST", "/api/v1/admin/jobs/health-check", None),
        ("POST", "/api/v1/admin/jobs/update-meeting-statuses", {"now": "garbage"}),
        ("POST", "/api/v1/admin/jobs/nope", None),
        ("GET", f"/api/v1/admin/jobs/{job_id}", None),
        ("GET", "/api/v1/admin/emails", None),
        ("GET", "/api/v1/admin/emails?type=bogus", None),
    ]
    for method, path, body in calls:
        _error(client.open(path, method=method, headers=ada, json=body), 403, "admin_required")
        _error(client.open(path, method=method, json=body), 401, "token_missing")
        bad = bearer("not-a-jwt")
        assert client.open(path, method=method, headers=bad, json=body).status_code == 401
    assert _queued(redis_conn) == 0


def test_admin_by_admin_emails_once_verified(make_app):
    app = make_app(ADMIN_EMAILS=["boss@example.com", "chief@example.com"])
    client = app.test_client()
    make_user(app, email="boss@example.com", email_verified=True)
    make_user(app, email="chief@example.com")
    make_user(app, email="oss@example.com", email_verified=True)
    verified, unverified, lookalike = (
        bearer(login(client, email=email)["access_token"])
        for email in ("boss@example.com", "chief@example.com", "oss@example.com")
    )
    assert client.get("/api/v1/admin/emails", headers=verified).status_code == 200
    for headers in (unverified, lookalike):
        response = client.get("/api/v1/admin/emails", headers=headers)
        _error(response, 403, "admin_required")


@pytest.fixture
def mail(email_app, client, fake_sendgrid, run_worker):
    """Six rows: verify and reset links, invitations, a bounced address, one still pending."""
    signup = {"email": "Ada@Example.com", "password": "a long enough secret", "name": "Ada"}
    ada = bearer(client.post("/api/v1/auth/signup", json=signup).get_json()["access_token"])
    assert (
        client.post("/api/v1/auth/password-reset", json={"email": "ada@example.com"}).status_code
        == 202
    )
    bob = session(email_app, client, email="bob@example.com", name="Bob")
    session(email_app, client, email="gone@example.com", name="Gone", email_status="bounced")
    for headers in (ada, bob):
        created = client.post(
            "/api/v1/meetings", headers=headers, json={"scheduled_at": clock.isoformat(AT)}
        )
        assert created.status_code == 201
    with email_app.app_context():
        gone = get_db().users.find_one({"email": "gone@example.com"})
        queue_email("welcome", f"welcome:{gone['_id']}", str(gone["_id"]), {})
    run_worker(email_app)
    client.post("/api/v1/meetings", headers=bob, json={"scheduled_at": "2031-01-21T10:00:00Z"})
    with email_app.app_context():
        return [with_bodies(row) for row in get_db().email_log.find()]


def _emails(client, headers, query="") -> dict:
    response = client.get(f"/api/v1/admin/emails{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_email_log_filters_by_recipient_type_and_status(client, admin, mail):
    assert len(mail) == 6
    everything = _emails(client, admin)["emails"]
    assert len(everything) == 6 and _emails(client, admin)["next_cursor"] is None
    ada = _emails(client, admin, "?to=ADA@example.com")["emails"]
    assert sorted(e["type"] for e in ada) == ["meeting_invitation", "password_reset", "welcome"]
    assert {e["to"] for e in ada} == {"ada@example.com"}
    invitations = _emails(client, admin, "?type=meeting_invitation")["emails"]
    assert sorted(e["to"] for e in invitations) == [
        "ada@example.com",
        "bob@example.com",
        "bob@example.com",
    ]
    assert [e["to"] for e in _emails(client, admin, "?status=suppressed")["emails"]] == [
        "gone@example.com"
    ]
    pending = _emails(client, admin, "?status=pending&type=meeting_invitation&to=bob@example.com")
    [row] = pending["emails"]
    assert row["key"].startswith("invitation:") and row["attempts"] == 0
    assert _emails(client, admin, "?to=nobody@example.com&status=sent")["emails"] == []
    sent = _emails(client, admin, "?status=sent")["emails"]
    assert len(sent) == 4
    assert all(e["sent_at"].endswith("Z") and e["attempts"] == 1 for e in sent)
    assert all(set(e) >= {"id", "key", "created_at", "events", "last_error"} for e in sent)


def test_bodies_only_with_include_body_and_never_a_token(client, admin, mail):
    tokens = set()
    for row in mail:
        for part in (row.get("html") or "", row.get("text") or ""):
            tokens.update(TOKEN_VALUE.findall(part))
    assert len(tokens) >= 3  # verify, reset and unsubscribe links
    plain = _emails(client, admin)["emails"]
    assert all({"subject", "html", "text"}.isdisjoint(e) for e in plain)

    response = client.get("/api/v1/admin/emails?include=body", headers=admin)
    raw = response.get_data(as_text=True)
    emails = response.get_json()["emails"]
    stored = [row for row in mail if row["status"] not in ("suppressed", "opted_out")]
    assert sum(1 for e in emails if e.get("html") and e.get("text") and e.get("subject")) == len(
        stored
    )
    for token in tokens:
        assert token not in raw
    by_type = {e["type"]: e for e in emails}
    for email_type in ("welcome", "password_reset"):
        assert "token=[redacted]" in by_type[email_type]["text"]
        assert "token=[redacted]" in by_type[email_type]["html"]


def test_the_email_log_pages_newest_first_through_every_row(client, admin, mail):
    seen, query = [], "?limit=4"
    while True:
        page = _emails(client, admin, query)
        seen.extend(page["emails"])
        if page["next_cursor"] is None:
            break
        query = f"?limit=4&cursor={page['next_cursor']}"
    assert sorted(e["id"] for e in seen) == sorted(str(row["_id"]) for row in mail)
    order = [(e["created_at"], e["id"]) for e in seen]
    assert order == sorted(order, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        "?type=bogus",
        "?status=delivered",
        "?include=bodies",
        "?include=",
        "?to=not-an-email",
        "?to=" + "a" * 300 + "@example.com",
        "?limit=0",
        "?limit=101",
        "?cursor=!!!",
    ],
)
def test_bad_email_log_arguments_are_422(client, admin, query):
    _error(client.get(f"/api/v1/admin/emails{query}", headers=admin), 422, "validation_error")


def test_jobs_answer_503_while_redis_is_down(make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/no-redis-here.sock")
    client = app.test_client()
    make_user(app, email="root@example.com", is_admin=True)
    headers = bearer(login(client, email="root@example.com")["access_token"])
    for response in (
        client.post("/api/v1/admin/jobs/health-check", headers=headers),
        client.get(f"/api/v1/admin/jobs/{uuid.uuid4()}", headers=headers),
    ):
        _error(response, 503, "service_unavailable")
    assert client.get("/api/v1/admin/emails", headers=headers).status_code == 200
