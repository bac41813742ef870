"""A provider outage delays email and never loses it: ten minutes of 429 with reset headers,
ten of 503, then 202, in simulated time with the real worker path. Every email created before
and during the outage is sent exactly once and none fails; the breaker keeps the senders from
hammering; a genuinely failed email is re-driven by an admin, once."""

import json
from collections import Counter
from datetime import timedelta

import pytest

from app import clock
from app.db import get_db
from app.email import delivery, outbox
from app.email.send import send_password_reset, send_welcome
from tests.accounts import bearer, login, make_user
from tests.email_support import T0, release_due
from tests.fake_http import Reply

RATE_LIMITED_UNTIL = T0 + timedelta(minutes=10)
DOWN_UNTIL = T0 + timedelta(minutes=20)
STEP = timedelta(seconds=30)


def outage(recorded):
    """SendGrid as it fails: 429 (reset a minute ahead), then 503, then fine."""
    now = clock.now()
    if now < RATE_LIMITED_UNTIL:
        reset = str(int((now + timedelta(minutes=1)).timestamp()))
        return Reply(429, b'{"errors":[{"message":"too many"}]}', {"X-RateLimit-Reset": reset})
    if now < DOWN_UNTIL:
        return Reply(503, b'{"errors":[{"message":"down"}]}')
    return None


def _recipients(recorded) -> list[str]:
    body = json.loads(recorded.body)
    return [to["email"] for p in body["personalizations"] for to in p["to"]]


@pytest.fixture
def outage_app(make_app, fake_sendgrid, frozen_clock):
    from tests.email_support import API_KEY

    frozen_clock.set_now(T0)
    fake_sendgrid.rule = outage
    return make_app(SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake_sendgrid.url)


def test_twenty_minutes_of_429_then_503_lose_nothing_and_send_nothing_twice(
    outage_app, fake_sendgrid, redis_conn, run_worker
):
    created: list[tuple[str, str]] = []
    with outage_app.app_context():
        before = [make_user(outage_app, email=f"early{n}@example.com") for n in range(10)]
        with outbox.delivery_batch():
            for user in before:
                send_welcome(user["_id"], "https://api/verify?token=v")
                created.append((user["email"], "welcome"))
        moment, n = T0, 0
        while moment <= T0 + timedelta(hours=2):
            clock.set_now(moment)
            if moment < DOWN_UNTIL and moment.second == 0 and moment.minute % 2 == 0:
                # Two new emails every two minutes of the outage, of two types.
                user = make_user(outage_app, email=f"during{n}@example.com")
                send_welcome(user["_id"], "https://api/verify?token=v")
                send_password_reset(user["_id"], "https://app/reset?token=r", f"t{n}")
                created += [(user["email"], "welcome"), (user["email"], "password_reset")]
                n += 1
            if moment.minute % 5 == 0 and moment.second == 0:
                delivery.catch_up(moment)  # what the 5-minute job does
            release_due(redis_conn, moment)
            run_worker(outage_app)
            moment += STEP
        statuses = Counter(row["status"] for row in get_db().email_log.find())
    assert statuses == {"sent": len(created)}, statuses
    deliveries = fake_sendgrid.deliveries()
    assert [deliveries[email_and_type] for email_and_type in created] == [1] * len(created)
    assert sum(deliveries.values()) == len(created)
    # The breaker: a handful of refused requests, not one per email per retry.
    refused = [r for r, reply in fake_sendgrid.server.answered if reply.status != 202]
    assert 0 < len(refused) <= 25, len(refused)


def test_a_genuinely_failed_email_is_redriven_by_an_admin_once(
    outage_app, fake_sendgrid, run_worker
):
    clock.set_now(DOWN_UNTIL + timedelta(minutes=1))  # the provider answers again
    fake_sendgrid.rule = lambda recorded: (
        Reply(400, b'{"errors":[{"message":"invalid to"}]}')
        if "bad@example.com" in _recipients(recorded)
        else None
    )
    client = outage_app.test_client()
    make_user(outage_app, email="root@example.com", name="Root")
    runner = outage_app.test_cli_runner()
    assert runner.invoke(args=["users", "grant-admin", "root@example.com"]).exit_code == 0
    admin = bearer(login(client, email="root@example.com")["access_token"])
    with outage_app.app_context():
        bad = make_user(outage_app, email="bad@example.com")
        good = make_user(outage_app, email="good@example.com")
        with outbox.delivery_batch():
            failing = send_welcome(bad["_id"], "https://api/verify?token=v")
            send_welcome(good["_id"], "https://api/verify?token=v")
    run_worker(outage_app)
    with outage_app.app_context():
        row = get_db().email_log.find_one({"to": "bad@example.com"})
        assert row["status"] == "failed" and "HTTP 400" in row["last_error"]
        # The request of two was split: the good address went on its own.
        assert get_db().email_log.find_one({"to": "good@example.com"})["status"] == "sent"
    fake_sendgrid.rule = None  # the address was fixed upstream
    response = client.post(f"/api/v1/admin/emails/{failing['id']}/retry", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    run_worker(outage_app)
    again = client.post(f"/api/v1/admin/emails/{failing['id']}/retry", headers=admin)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_not_failed"
    deliveries = fake_sendgrid.deliveries()
    assert deliveries[("bad@example.com", "welcome")] == 1
    assert deliveries[("good@example.com", "welcome")] == 1


def test_the_bulk_redrive_and_the_cli(outage_app, fake_sendgrid, run_worker):
    fake_sendgrid.rule = lambda recorded: Reply(401, b'{"errors":[{"message":"bad key"}]}')
    with outage_app.app_context():
        users = [make_user(outage_app, email=f"f{n}@example.com") for n in range(3)]
        ids = [send_welcome(u["_id"], None)["id"] for u in users]
    run_worker(outage_app)
    with outage_app.app_context():
        assert {r["status"] for r in get_db().email_log.find()} == {"failed"}
    fake_sendgrid.rule = None  # the key was rotated
    runner = outage_app.test_cli_runner()
    assert runner.invoke(args=["email", "retry"]).exit_code != 0  # says which
    result = runner.invoke(args=["email", "retry", ids[0]])
    assert result.exit_code == 0 and "1 failed email(s) pending again" in result.output
    result = runner.invoke(args=["email", "retry", "--all-failed", "--type", "welcome"])
    assert "2 failed email(s) pending again" in result.output
    run_worker(outage_app)
    with outage_app.app_context():
        assert {r["status"] for r in get_db().email_log.find()} == {"sent"}
    assert runner.invoke(args=["email", "retry", "--all-failed"]).output.startswith("0 failed")
    deliveries = fake_sendgrid.deliveries()
    assert [deliveries[(u["email"], "welcome")] for u in users] == [1, 1, 1]
