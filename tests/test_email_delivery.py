"""Delivery through the real sendgrid client against a local fake SendGrid: outcomes, retries
that spend no attempt on a provider outage, the retry budget, leases, degraded mode."""

import logging
import threading
from datetime import timedelta

from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app import clock
from app.email import delivery, outbox, providers
from app.email.send import send_invitation
from app.queue import enqueue
from tests.email_support import (
    API_KEY,
    T0,
    advance,
    make_meeting,
    make_user,
    release_due,
    row,
    scheduled_at,
)
from tests.fake_http import Reply

DELIVER = "app.jobs.emails.deliver_emails_task"


def _welcome(user=None, key=None):
    user = user or make_user(email="ada@example.com", name="Ada")
    uid = str(user["_id"])
    return outbox.queue_email("welcome", key or f"welcome:{uid}", uid, {"verify_url": "https://v"})


def _only_job_result(connection, queue="email"):
    """The result of the single delivery job that ran last on `queue`."""
    from rq.registry import FinishedJobRegistry

    ids = FinishedJobRegistry(queue, connection=connection).get_job_ids()
    jobs = sorted(Job.fetch_many(ids, connection=connection), key=lambda j: j.ended_at)
    return jobs[-1].return_value()


def test_202_is_sent_with_the_message_id(email_ctx, fake_sendgrid, run_worker, redis_conn):
    queued = _welcome()
    assert queued["status"] == "pending" and queued["created"] is True
    assert run_worker(email_ctx) is True
    sent = row(queued["id"])
    assert sent["status"] == "sent"
    assert sent["provider"] == "sendgrid"
    assert sent["provider_message_id"] == "msg0001"
    assert sent["attempts"] == 1
    assert sent["sent_at"] == T0
    assert "lease_until" not in sent and "lease_token" not in sent
    assert len(fake_sendgrid.requests) == 1
    request = fake_sendgrid.requests[0]
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    result = _only_job_result(redis_conn)
    assert result["status"] == "sent"
    assert result["rows"] == {queued["id"]: "sent"}


def test_500_then_202_is_one_email_and_the_outage_uses_no_attempt(
    email_ctx, fake_sendgrid, run_worker, redis_conn
):
    fake_sendgrid.script = [Reply(500, b'{"errors":[{"message":"boom"}]}')]
    queued = _welcome()
    run_worker(email_ctx)
    waiting = row(queued["id"])
    assert waiting["status"] == "pending"
    assert waiting["attempts"] == 0
    assert waiting["outages"] == 1
    assert waiting["last_error"].startswith("HTTP 500")
    assert waiting["next_attempt_at"] == T0 + timedelta(seconds=30)
    assert _only_job_result(redis_conn) == {
        "status": "retry_scheduled",
        "counts": {"retry_scheduled": 1},
        "rows": {queued["id"]: "retry_scheduled"},
    }
    # The retry is one job in RQ's scheduled registry, due at next_attempt_at.
    assert scheduled_at(redis_conn) == [T0 + timedelta(seconds=30)]

    advance(30)
    assert release_due(redis_conn) == 1
    run_worker(email_ctx)
    sent = row(queued["id"])
    assert sent["status"] == "sent"
    assert sent["attempts"] == 1
    assert len(fake_sendgrid.requests) == 2
    assert fake_sendgrid.bodies[0] == fake_sendgrid.bodies[1]


def test_429_waits_for_the_reset_and_is_not_picked_early(
    email_ctx, fake_sendgrid, run_worker, redis_conn
):
    reset = T0 + timedelta(seconds=300)
    fake_sendgrid.script = [Reply(429, b"{}", {"X-RateLimit-Reset": str(int(reset.timestamp()))})]
    queued = _welcome()
    run_worker(email_ctx)
    waiting = row(queued["id"])
    assert waiting["status"] == "pending"
    assert waiting["last_error"].startswith("HTTP 429")
    # Not the 30 s backoff: the reset time (plus the clock tolerance, never before it).
    assert waiting["next_attempt_at"] >= reset
    assert waiting["next_attempt_at"] <= reset + delivery.DUE_TOLERANCE
    assert scheduled_at(redis_conn) == [waiting["next_attempt_at"]]

    # Four minutes later: past the catch-up grace of a normal row, still before the reset.
    advance(240)
    assert delivery.catch_up()["requeued"] == 0
    assert Queue("email", connection=redis_conn).count == 0
    # Even a delivery job that runs early (a duplicate, a manual run) does not send.
    enqueue(DELIVER, [queued["id"]])
    run_worker(email_ctx)
    assert _only_job_result(redis_conn)["status"] == "not_due"
    assert len(fake_sendgrid.requests) == 1

    clock.set_now(waiting["next_attempt_at"])
    release_due(redis_conn)
    run_worker(email_ctx)
    assert row(queued["id"])["status"] == "sent"
    assert row(queued["id"])["sent_at"] >= reset
    assert len(fake_sendgrid.requests) == 2


def test_400_fails_after_one_attempt(email_ctx, fake_sendgrid, run_worker, redis_conn):
    fake_sendgrid.script = [Reply(400, b'{"errors":[{"message":"bad from"}]}')]
    queued = _welcome()
    run_worker(email_ctx)
    failed = row(queued["id"])
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1
    assert "HTTP 400" in failed["last_error"] and "bad from" in failed["last_error"]
    assert ScheduledJobRegistry("email", connection=redis_conn).count == 0
    assert _only_job_result(redis_conn)["status"] == "failed"
    advance(3600)
    assert delivery.catch_up()["requeued"] == 0
    assert len(fake_sendgrid.requests) == 1


def test_a_server_that_never_answers_is_retried(
    make_app, fake_sendgrid, frozen_clock, run_worker, redis_conn
):
    frozen_clock.set_now(T0)
    release = threading.Event()

    def hang(recorded):
        release.wait(10)
        return Reply(202, b"", {"X-Message-Id": "late"})

    fake_sendgrid.script = [hang]
    app = make_app(
        SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake_sendgrid.url, SENDGRID_TIMEOUT_S=0.3
    )
    try:
        with app.app_context():
            queued = _welcome()
            run_worker(app)
            waiting = row(queued["id"])
            assert waiting["status"] == "pending"
            assert waiting["attempts"] == 0
            assert "timed out" in waiting["last_error"]
            advance(30)
            assert release_due(redis_conn) == 1
            run_worker(app)
            sent = row(queued["id"])
            assert sent["status"] == "sent"
            assert sent["attempts"] == 1
            assert sent["provider_message_id"] == "msg0002"
    finally:
        release.set()
    # The fake did receive the first request: the one possible duplicate of the delivery promise.
    assert len(fake_sendgrid.requests) == 2


def test_transient_failures_back_off_and_give_up_only_past_the_budget(
    make_app, fake_sendgrid, frozen_clock, run_worker, redis_conn
):
    frozen_clock.set_now(T0)
    app = make_app(
        SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake_sendgrid.url, EMAIL_RETRY_BUDGET_H=2
    )
    fake_sendgrid.script = [Reply(503, b"{}") for _ in range(20)]
    with app.app_context():
        queued = _welcome()
        waits = []
        run_worker(app)
        while row(queued["id"])["status"] == "pending":
            next_at = row(queued["id"])["next_attempt_at"]
            waits.append(next_at - clock.now())
            clock.set_now(next_at)
            assert release_due(redis_conn) == 1
            run_worker(app)
        failed = row(queued["id"])
    assert failed["status"] == "failed"
    assert failed["last_error"].startswith("gave up after 2 h of provider errors")
    # The outage never used an attempt; the waits grow, then stay at 30 minutes.
    assert failed["attempts"] == 0
    assert waits == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(minutes=30),
        timedelta(minutes=30),
    ]
    assert len(fake_sendgrid.requests) == len(waits) + 1
    assert ScheduledJobRegistry("email", connection=redis_conn).count == 0


def test_no_api_key_keeps_emails_as_skipped_with_one_warning(
    make_app, frozen_clock, run_worker, monkeypatch, caplog
):
    frozen_clock.set_now(T0)
    monkeypatch.setattr(providers, "_warned_degraded", False)
    app = make_app(SENDGRID_API_KEY=None)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.email.providers"):
        first = _welcome(make_user(email="one@example.com"))
        second = _welcome(make_user(email="two@example.com"))
        run_worker(app)
        assert row(first["id"])["status"] == "skipped"
        assert row(second["id"])["status"] == "skipped"
        assert row(first["id"])["html"]  # rendered and kept for the dev outbox
        assert row(first["id"])["attempts"] == 0  # nothing was tried
        # A second delivery pass in the same process does not warn again.
        delivery.deliver([first["id"]])
    warnings = [r for r in caplog.records if r.name == "app.email.providers"]
    assert len(warnings) == 1
    assert "SENDGRID_API_KEY is not set" in warnings[0].getMessage()


def test_the_same_key_is_sent_once(email_ctx, fake_sendgrid, run_worker):
    first = _welcome(make_user(email="ada@example.com"))
    user_id = str(row(first["id"])["user_id"])
    again = outbox.queue_email("welcome", f"welcome:{user_id}", user_id, {})
    assert again == {"id": first["id"], "status": "pending", "created": False}
    run_worker(email_ctx)
    assert outbox.queue_email("welcome", f"welcome:{user_id}", user_id, {})["status"] == "sent"
    delivery.deliver([first["id"]])
    run_worker(email_ctx)
    assert len(fake_sendgrid.requests) == 1


def test_two_threads_delivering_one_row_send_it_once(email_ctx, fake_sendgrid):
    queued = _welcome()
    barrier = threading.Barrier(2)
    results = []

    def deliver():
        with email_ctx.app_context():
            barrier.wait()
            results.append(delivery.deliver([queued["id"]])["rows"][queued["id"]])

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(results) == ["not_due", "sent"]
    assert len(fake_sendgrid.requests) == 1
    assert row(queued["id"])["attempts"] == 1


def test_two_threads_queueing_one_key_write_one_row(email_ctx, fake_sendgrid, run_worker):
    user = make_user()
    barrier = threading.Barrier(2)
    results = []

    def queue():
        with email_ctx.app_context():
            barrier.wait()
            results.append(_welcome(user, key="welcome:race"))

    threads = [threading.Thread(target=queue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len({r["id"] for r in results}) == 1
    assert sorted(r["created"] for r in results) == [False, True]
    run_worker(email_ctx)
    assert len(fake_sendgrid.requests) == 1


def test_a_transient_failure_defers_the_rest_of_the_batch(
    make_app, fake_sendgrid, frozen_clock, run_worker, redis_conn
):
    frozen_clock.set_now(T0)
    # One request at a time, so the order is fixed: the first fails, the rest wait.
    app = make_app(
        SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake_sendgrid.url, SENDGRID_CONCURRENCY=1
    )
    fake_sendgrid.script = [Reply(503, b"{}")]
    with app.app_context():
        # Invitations carry an ICS each: one request per email.
        user = make_user()
        meetings = [make_meeting(user, T0 + timedelta(days=1, hours=i)) for i in range(4)]
        with outbox.delivery_batch():
            ids = [send_invitation(meeting)["id"] for meeting in meetings]
        run_worker(app)
        # One request failed; the three others waited without calling the provider, and none
        # of the four used an attempt.
        assert len(fake_sendgrid.requests) == 1
        assert [row(i)["attempts"] for i in ids] == [0, 0, 0, 0]
        assert {row(i)["next_attempt_at"] for i in ids} == {T0 + timedelta(seconds=30)}
        assert len(scheduled_at(redis_conn)) == 1
        advance(30)
        release_due(redis_conn)
        run_worker(app)
        assert [row(i)["status"] for i in ids] == ["sent"] * 4
    assert len(fake_sendgrid.requests) == 5


def test_an_expired_lease_is_caught_up_and_an_exhausted_one_fails(
    email_ctx, fake_sendgrid, run_worker, redis_conn
):
    from app.db import get_db

    crashed = _welcome(make_user())
    exhausted = _welcome(make_user())
    log = get_db().email_log
    # As a worker that died mid-send leaves them.
    for email_id, attempts in ((crashed["id"], 1), (exhausted["id"], 5)):
        log.update_one(
            {"_id": row(email_id)["_id"]},
            {
                "$set": {
                    "status": "sending",
                    "attempts": attempts,
                    "lease_until": T0 + timedelta(seconds=90),
                    "lease_token": "dead-worker",
                }
            },
        )
    # Still leased: one job is scheduled for when the leases end (a no-op if the worker lives).
    assert delivery.catch_up() == {"status": "ok", "requeued": 0, "chased": 2, "failed": 0}
    assert scheduled_at(redis_conn) == [T0 + timedelta(seconds=91)]
    advance(91)
    assert delivery.catch_up() == {"status": "ok", "requeued": 1, "chased": 0, "failed": 1}
    run_worker(email_ctx)
    assert row(crashed["id"])["status"] == "sent"
    assert row(crashed["id"])["attempts"] == 2
    assert row(exhausted["id"])["status"] == "failed"
    assert len(fake_sendgrid.requests) == 1


def test_the_api_key_is_never_logged(email_ctx, fake_sendgrid, run_worker, caplog):
    fake_sendgrid.script = [Reply(401, b'{"errors":[{"message":"bad key"}]}')]
    # Everything at DEBUG except what the app pins: python_http_client prints the
    # Authorization header at DEBUG, so it must stay at WARNING.
    with caplog.at_level(logging.DEBUG):
        queued = _welcome()
        run_worker(email_ctx)
    assert logging.getLogger("python_http_client").getEffectiveLevel() == logging.WARNING
    assert row(queued["id"])["status"] == "failed"
    assert any(r.name == "app.email.delivery" for r in caplog.records)
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    assert API_KEY not in row(queued["id"])["last_error"]
