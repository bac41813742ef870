"""The delivery timeline: every SendGrid event on its row in the order it happened and each
once, the delivery status it adds up to, and the admin API that shows and filters it."""

import json
import random
import threading

import pytest

from app.db import get_db
from app.email import outbox
from tests.email_support import T0, make_user, row
from tests.meetings_support import session
from tests.webhook_support import URL, signed

BASE = int(T0.timestamp())


@pytest.fixture
def admin(hook_app):
    client = hook_app.test_client()
    headers = session(hook_app, client, email="root@example.com", name="Root")
    result = hook_app.test_cli_runner().invoke(args=["users", "grant-admin", "root@example.com"])
    assert result.exit_code == 0, result.output
    return headers


def _post(app, key_pair, events: list[dict]) -> None:
    body = json.dumps(events).encode()
    response = app.test_client().post(URL, data=body, headers=signed(key_pair[0], body))
    assert response.status_code == 204, response.get_json()


def _sent(app, run_worker, email: str) -> dict:
    with app.app_context():
        user = make_user(email=email)
        queued = outbox.queue_email("welcome", f"welcome:{user['_id']}", str(user["_id"]), {})
    run_worker(app)
    with app.app_context():
        sent = row(queued["id"])
    assert sent["status"] == "sent"
    return sent


def _event(sent: dict, name: str, offset: int, event_id: str, **fields) -> dict:
    return {
        "email": sent["to"],
        "event": name,
        "timestamp": BASE + offset,
        "email_log_id": str(sent["_id"]),
        "sg_event_id": event_id,
        "sg_message_id": f"{sent['provider_message_id']}.filter0001",
        **fields,
    }


def test_events_sent_out_of_order_and_twice_are_kept_in_order_and_once(
    hook_app, key_pair, run_worker, admin
):
    sent = _sent(hook_app, run_worker, "ada@example.com")
    happened = [
        _event(sent, "processed", 0, "ev-1"),
        _event(sent, "deferred", 2, "ev-2", response="451 try again later", attempt="1"),
        _event(sent, "delivered", 30, "ev-3", response="250 OK"),
        _event(sent, "open", 95, "ev-4"),
        _event(sent, "click", 97, "ev-5", url="https://app.goalgetter.example/goals"),
    ]
    shuffled = random.Random(14).sample(happened, len(happened))
    assert shuffled != happened
    _post(hook_app, key_pair, shuffled[:3])
    _post(hook_app, key_pair, shuffled)  # SendGrid posts a batch again
    _post(hook_app, key_pair, list(reversed(happened[1:4])))
    client = hook_app.test_client()
    response = client.get(f"/api/v1/admin/emails/{sent['_id']}", headers=admin)
    assert response.status_code == 200, response.get_json()
    email = response.get_json()
    assert [e["event"] for e in email["events"]] == [
        "processed",
        "deferred",
        "delivered",
        "open",
        "click",
    ]
    assert [e["sg_event_id"] for e in email["events"]] == [f"ev-{n}" for n in range(1, 6)]
    assert email["events"][0]["at"] == "2031-01-14T15:00:00.000Z"
    assert email["events"][1]["response"] == "451 try again later"
    assert email["events"][4]["url"] == "https://app.goalgetter.example/goals"
    assert (email["delivery_status"], email["opened"], email["clicked"]) == (
        "delivered",
        True,
        True,
    )
    assert email["id"] == str(sent["_id"]) and "html" not in email
    with_body = client.get(f"/api/v1/admin/emails/{sent['_id']}?include=body", headers=admin)
    assert "Welcome" in with_body.get_json()["subject"]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], "accepted"),
        ([("processed", 0)], "accepted"),
        ([("processed", 0), ("deferred", 5)], "deferred"),
        ([("deferred", 5), ("delivered", 60), ("deferred", 1)], "delivered"),
        ([("processed", 0), ("delivered", 2), ("bounce", 40)], "bounced"),
        ([("dropped", 0), ("processed", 0)], "dropped"),
    ],
)
def test_the_delivery_status_follows_the_last_delivery_event(
    hook_app, key_pair, run_worker, admin, events, expected
):
    sent = _sent(hook_app, run_worker, "bo@example.com")
    other = _sent(hook_app, run_worker, "cy@example.com")
    if events:
        payload = [_event(sent, name, at, f"{name}-{at}") for name, at in events]
        _post(hook_app, key_pair, payload)
    client = hook_app.test_client()
    shown = client.get(f"/api/v1/admin/emails/{sent['_id']}", headers=admin).get_json()
    assert shown["delivery_status"] == expected
    listed = client.get(f"/api/v1/admin/emails?delivery_status={expected}", headers=admin)
    ids = {e["id"] for e in listed.get_json()["emails"]}
    assert str(sent["_id"]) in ids
    # The other email has no events: it is merely accepted.
    assert (str(other["_id"]) in ids) == (expected == "accepted")


def test_a_spam_report_suppresses_the_address_as_a_bounce_does(
    hook_app, key_pair, run_worker, fake_sendgrid
):
    sent = _sent(hook_app, run_worker, "dee@example.com")
    _post(hook_app, key_pair, [_event(sent, "spamreport", 400, "spam-1")])
    with hook_app.app_context():
        user = get_db().users.find_one({"email": "dee@example.com"})
        assert user["email_status"] == "complained"
        later = outbox.queue_email(
            "password_reset", "password-reset:later", str(user["_id"]), {"reset_url": "https://r"}
        )
        assert later["status"] == "suppressed"
        assert [e["event"] for e in row(sent["_id"])["events"]] == ["spamreport"]
    requests_before = len(fake_sendgrid.requests)
    run_worker(hook_app)
    assert len(fake_sendgrid.requests) == requests_before


def test_concurrent_webhook_requests_for_one_email_lose_no_event(hook_app, key_pair, run_worker):
    sent = _sent(hook_app, run_worker, "eve@example.com")
    bodies = [json.dumps([_event(sent, "open", n, f"open-{n}")]).encode() for n in range(8)]

    def post(body):
        hook_app.test_client().post(URL, data=body, headers=signed(key_pair[0], body))

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with hook_app.app_context():
        stored = row(sent["_id"])
    assert [e["sg_event_id"] for e in stored["events"]] == [f"open-{n}" for n in range(8)]
    assert stored["opened"] is True and stored.get("clicked") is not True


def test_the_admin_email_route_refuses_unknown_ids_and_non_admins(hook_app, admin):
    client = hook_app.test_client()
    for email_id in ("0" * 24, "not-an-id"):
        response = client.get(f"/api/v1/admin/emails/{email_id}", headers=admin)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    bad = client.get(f"/api/v1/admin/emails/{'0' * 24}?include=everything", headers=admin)
    assert bad.status_code == 422
    ada = session(hook_app, client, email="ada@example.com")
    refused = client.get(f"/api/v1/admin/emails/{'0' * 24}", headers=ada)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "admin_required"
    assert client.get("/api/v1/admin/emails?delivery_status=lost", headers=admin).status_code == 422
