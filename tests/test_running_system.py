"""Preferences and metrics end to end through the running system: gunicorn (several workers)
and worker.py as subprocesses, as the Procfile runs them, email to a fake SendGrid."""

import itertools
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from bson import ObjectId

from app import clock
from app.db import get_db
from app.email import outbox
from app.metrics_store import Buffer
from tests.accounts import PASSWORD, make_user
from tests.email_support import API_KEY, FakeSendGrid
from tests.processes import children, wait_until
from tests.test_metrics import samples

TOKEN = "metrics-token-of-the-running-system-0123456789"
FAN_OUT = 150


def _http(url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def slow_sendgrid():
    fake = FakeSendGrid(latency=0.02)
    yield fake
    fake.close()


def _email_env(fake) -> dict:
    return {"SENDGRID_API_KEY": API_KEY, "SENDGRID_API_HOST": fake.url, "SENDGRID_TIMEOUT_S": 5}


def test_preferences_hold_through_the_running_system(app, processes, fake_sendgrid):
    stack = processes(**_email_env(fake_sendgrid))
    stack.start("web")
    stack.start("worker")
    stack.wait_serving()
    make_user(app, email="ada@example.com")
    status, login, _ = stack.post("/auth/login", {"email": "ada@example.com", "password": PASSWORD})
    assert status == 200, login
    auth = {"Authorization": f"Bearer {login['access_token']}"}

    status, prefs, _ = stack.patch("/users/me/notifications", {"progress": False}, auth)
    assert (status, prefs["progress"], prefs["meeting_reminders"]) == (200, False, True)
    status, refused, _ = stack.patch("/users/me/notifications", {"account": False}, auth)
    assert status == 422 and refused["error"]["code"] == "validation_error"
    assert "account" in refused["error"]["details"]["fields"]

    status, goal, _ = stack.post("/goals", {"title": "Run a marathon", "milestones": ["5k"]}, auth)
    assert status == 201, goal
    assert stack.post(f"/goals/{goal['id']}/milestones/0/achieve", {}, auth)[0] == 200
    # Inside the one-hour reminder's window: the reminder goes at once.
    start = (clock.now() + timedelta(minutes=55)).replace(microsecond=0)
    status, meeting, _ = stack.post("/meetings", {"scheduled_at": clock.isoformat(start)}, auth)
    assert status == 201, meeting

    def reminded():
        return fake_sendgrid.deliveries()[("ada@example.com", "meeting_reminder")]

    wait_until(reminded, 30, f"the reminder never arrived\n{stack.tail()}")
    with app.app_context():
        milestone = get_db().email_log.find_one({"type": "goal_milestone"})
    assert milestone["status"] == "opted_out"
    assert fake_sendgrid.deliveries()[("ada@example.com", "goal_milestone")] == 0

    [reminder] = [b for b in fake_sendgrid.bodies if b["categories"] == ["meeting_reminder"]]
    link = reminder["headers"]["List-Unsubscribe"].strip("<>")
    assert reminder["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = link.split("/api/v1", 1)[1]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = _http(f"{stack.base}{path}", b"List-Unsubscribe=One-Click", form)
    assert status == 200
    status, prefs, _ = stack.get("/users/me/notifications", headers=auth)
    assert prefs == {
        "meeting_reminders": False,
        "meeting_updates": True,
        "progress": False,
        "account": True,
    }


def _scrape(stack, headers=None) -> dict:
    status, body = _http(
        f"http://127.0.0.1:{stack.port}/metrics",
        headers={"Authorization": f"Bearer {TOKEN}"} if headers is None else headers,
    )
    assert status == 200, body
    return samples(body.decode())


def _gauge(found: dict, name: str) -> float:
    return found[(name, ())]


def _sent(found: dict) -> float:
    return found.get(("goalgetter_emails_total", (("status", "sent"), ("type", "welcome"))), 0)


def test_metrics_agree_across_web_workers_and_move_while_a_fan_out_runs(
    app, processes, slow_sendgrid
):
    # Requests of ten, one at a time: the fake stops answering after the third, so a scrape
    # sees the fan-out part-way.
    email = {**_email_env(slow_sendgrid), "SENDGRID_BATCH_SIZE": 10, "SENDGRID_CONCURRENCY": 1}
    stack = processes(METRICS_TOKEN=TOKEN, WEB_CONCURRENCY=3, **email)
    answered = itertools.count(1)

    def hold_after_three(recorded):
        if next(answered) == 3:
            slow_sendgrid.hold()

    slow_sendgrid.rule = hold_after_three
    stack.start("web")
    stack.wait_serving()
    wait_until(lambda: len(children(stack.pid("web"))) >= 3, 30, "gunicorn has not 3 workers")

    status, body = _http(f"http://127.0.0.1:{stack.port}/metrics")
    assert status == 401 and b"metrics_auth_required" in body
    assert (
        _http(f"http://127.0.0.1:{stack.port}/metrics", headers={"Authorization": "Bearer x"})[0]
        == 401
    )

    # Requests answered by any of the three workers show in every scrape, whoever answers it,
    # once each worker has flushed (within Buffer.FLUSH_S).
    health = (
        "goalgetter_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/health"), ("status", "200")),
    )
    # wait_serving's one /health may sit in another worker's buffer for up to FLUSH_S.
    counted = wait_until(
        lambda: _scrape(stack).get(health), Buffer.FLUSH_S + 5, "wait_serving's /health not counted"
    )
    assert counted == 1
    for _ in range(30):
        assert stack.get("/health")[0] == 200
    wait_until(
        lambda: _scrape(stack).get(health) == counted + 30,
        Buffer.FLUSH_S + 5,
        lambda: (
            f"the workers' counts never reached Redis: {_scrape(stack).get(health)}, {counted}+30"
        ),
    )
    for _ in range(4):
        assert _scrape(stack)[health] == counted + 30

    users = [
        {
            "_id": ObjectId(),
            "email": f"fan{n}@example.com",
            "name": f"Fan {n}",
            "email_notifications": True,
            "email_status": "ok",
            "created_at": clock.now(),
        }
        for n in range(FAN_OUT)
    ]
    with app.app_context():
        get_db().users.insert_many(users)
        with outbox.delivery_batch():
            for user in users:
                outbox.queue_email("welcome", f"welcome:{user['_id']}", str(user["_id"]), {})
    first = _scrape(stack)
    assert _gauge(first, "goalgetter_outbox_pending") == FAN_OUT
    assert _gauge(first, "goalgetter_outbox_oldest_pending_seconds") >= 0
    stack.start("worker")
    seen = [(_gauge(first, "goalgetter_outbox_pending"), _sent(first))]

    def progress(done):
        found = _scrape(stack)
        seen.append((_gauge(found, "goalgetter_outbox_pending"), _sent(found)))
        return done(*seen[-1])

    wait_until(lambda: progress(lambda pending, sent: sent == 30), 60, f"no progress: {seen[-3:]}")
    slow_sendgrid.release()

    def drained():
        return progress(lambda pending, sent: (pending, sent) == (0, FAN_OUT))

    wait_until(drained, 60, f"the fan-out did not drain: {seen[-3:]}\n{stack.tail()}", 0.2)
    pending = [p for p, _ in seen]
    sent = [s for _, s in seen]
    assert pending == sorted(pending, reverse=True) and sent == sorted(sent)
    assert sum(slow_sendgrid.deliveries().values()) == FAN_OUT
    final = _scrape(stack)
    assert _gauge(final, "goalgetter_outbox_oldest_pending_seconds") == 0
    queued = ("goalgetter_emails_total", (("status", "queued"), ("type", "welcome")))
    assert final[queued] == FAN_OUT
    assert _gauge(final, "goalgetter_rq_workers") == 1
