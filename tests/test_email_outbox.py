"""The seam `queue_email`: gates, rows, keys, best-effort enqueue, catch-up, batching, and the
send functions and job entry points."""

import logging
import math
from datetime import timedelta

import pytest
from bson import ObjectId
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from app.db import get_db
from app.email import delivery, outbox, send
from app.email.send import accepted
from app.errors import NotFound
from app.queue import enqueue
from tests.email_support import T0, advance, make_goal, make_meeting, make_user, row
from tests.email_support import stored as stored_row

BODY_FIELDS = (*outbox.BODY_FIELDS, "template")


def _raw(email_id) -> dict:
    """The row as stored (no bodies put together)."""
    return get_db().email_log.find_one({"_id": ObjectId(email_id)})


def _jobs(connection, queue="email") -> list[Job]:
    return Job.fetch_many(Queue(queue, connection=connection).job_ids, connection=connection)


def test_queue_email_writes_a_pending_row_and_enqueues_its_delivery(email_ctx, redis_conn):
    user = make_user(email="ada@example.com", name="Ada")
    uid = str(user["_id"])
    result = outbox.queue_email("welcome", f"welcome:{uid}", uid, {"verify_url": "https://v/1"})
    assert result["status"] == "pending" and result["created"] is True
    stored = row(result["id"])
    assert stored["key"] == f"welcome:{uid}"
    assert stored["type"] == "welcome"
    assert stored["to"] == "ada@example.com"
    assert stored["user_id"] == user["_id"]
    assert stored["attempts"] == 0
    assert stored["created_at"] == stored["next_attempt_at"] == T0
    assert "https://v/1" in stored["html"] and "https://v/1" in stored["text"]
    jobs = _jobs(redis_conn)
    assert [(j.func_name, j.args) for j in jobs] == [
        ("app.jobs.emails.deliver_emails_task", ([result["id"]],))
    ]
    # RQ's retry is for a job that raised or died; provider failures delivery reschedules itself.
    assert jobs[0].retries_left == 5


def test_a_duplicate_key_returns_the_existing_row_and_enqueues_nothing(email_ctx, redis_conn):
    uid = str(make_user()["_id"])
    first = outbox.queue_email("phase_transition", f"phase:{uid}:tracking", uid, {})
    second = outbox.queue_email("phase_transition", f"phase:{uid}:tracking", uid, {})
    assert second == {"id": first["id"], "status": "pending", "created": False}
    assert get_db().email_log.count_documents({}) == 1
    assert len(_jobs(redis_conn)) == 1


@pytest.mark.parametrize(
    ("email_type", "respects"),
    [
        ("welcome", False),
        ("password_reset", False),
        ("meeting_invitation", True),
        ("meeting_cancellation", True),
        ("meeting_reminder", True),
        ("goal_milestone", True),
        ("phase_transition", True),
    ],
)
def test_preferences_per_type(email_ctx, redis_conn, email_type, respects):
    user = make_user(email_notifications=False)
    uid = str(user["_id"])
    meeting = make_meeting(user, T0 + timedelta(hours=23, minutes=30))
    goal = make_goal(user)
    context = {
        "welcome": {},
        "password_reset": {"reset_url": "https://app/reset?token=t"},
        "meeting_invitation": {"meeting_id": str(meeting["_id"])},
        "meeting_cancellation": {"meeting_id": str(meeting["_id"])},
        "meeting_reminder": {"meeting_id": str(meeting["_id"]), "kind": "24h"},
        "goal_milestone": {"goal_id": str(goal["_id"]), "index": 0},
        "phase_transition": {},
    }[email_type]
    result = outbox.queue_email(email_type, f"k:{email_type}", uid, context)
    stored = row(result["id"])
    if respects:
        assert result["status"] == stored["status"] == "opted_out"
        assert stored["html"] is None
        assert not any(field in _raw(result["id"]) for field in BODY_FIELDS)
        assert _jobs(redis_conn) == []
    else:
        assert result["status"] == "pending"
        assert stored["html"]


@pytest.mark.parametrize("email_status", ["bounced", "complained"])
def test_nothing_goes_to_a_bounced_or_complained_address(email_ctx, redis_conn, email_status):
    uid = str(make_user(email_status=email_status)["_id"])
    for email_type, context in (("welcome", {}), ("password_reset", {"reset_url": "https://r"})):
        result = outbox.queue_email(email_type, f"k:{email_type}", uid, context)
        assert result["status"] == "suppressed"
        assert not any(field in _raw(result["id"]) for field in BODY_FIELDS)
    assert _jobs(redis_conn) == []


def test_redis_down_keeps_the_row_pending_and_the_catch_up_sends_it_once(
    make_app, email_app, fake_sendgrid, redis_conn, run_worker, caplog
):
    # The same settings, but Redis unreachable (nothing listens on port 1).
    down = make_app(**{**email_app.config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with down.app_context(), caplog.at_level(logging.WARNING, logger="app.email.delivery"):
        uid = str(make_user()["_id"])
        result = outbox.queue_email("welcome", f"welcome:{uid}", uid, {})
    assert result["status"] == "pending" and result["created"] is True
    assert "stay pending for the catch-up" in caplog.text
    with email_app.app_context():
        assert row(result["id"])["status"] == "pending"
        assert _jobs(redis_conn) == []
        # Within the grace minute the row is left alone (its own job may still be coming).
        advance(59)
        assert delivery.catch_up()["requeued"] == 0
        advance(2)
        assert delivery.catch_up()["requeued"] == 1
        run_worker(email_app)
        assert row(result["id"])["status"] == "sent"
        # Later catch-ups find nothing: the key is sent, never again.
        advance(600)
        assert delivery.catch_up()["requeued"] == 0
        run_worker(email_app)
    assert len(fake_sendgrid.requests) == 1


def test_500_rows_queued_at_once_go_out_in_far_fewer_jobs(
    email_ctx, fake_sendgrid, redis_conn, run_worker
):
    users = [make_user(email=f"u{i}@example.com") for i in range(500)]
    with outbox.delivery_batch():
        ids = [
            outbox.queue_email("phase_transition", f"phase:{u['_id']}:tracking", str(u["_id"]), {})[
                "id"
            ]
            for u in users
        ]
    jobs = _jobs(redis_conn)
    assert len(jobs) == math.ceil(500 / delivery.BATCH_SIZE) < 500
    assert sorted(i for job in jobs for i in job.args[0]) == sorted(ids)
    run_worker(email_ctx)
    assert FinishedJobRegistry("email", connection=redis_conn).count == len(jobs)
    assert get_db().email_log.count_documents({"status": "sent"}) == 500
    # One template, so one request per SENDGRID_BATCH_SIZE recipients, each personalized.
    requests = math.ceil(500 / email_ctx.config["SENDGRID_BATCH_SIZE"])
    assert len(fake_sendgrid.requests) == requests < 500
    personalizations = [p for b in fake_sendgrid.bodies for p in b["personalizations"]]
    assert len({p["to"][0]["email"] for p in personalizations}) == 500
    assert sorted(p["custom_args"]["email_log_id"] for p in personalizations) == sorted(ids)
    assert all(p["substitutions"]["%gg.name.t%"] == "Ada" for p in personalizations)


def test_the_catch_up_batches_too(email_ctx, redis_conn):
    with outbox.delivery_batch():
        for i in range(120):
            user = make_user(email=f"c{i}@example.com")
            outbox.queue_email("welcome", f"welcome:{user['_id']}", str(user["_id"]), {})
    redis_conn.flushdb()  # the jobs are lost, as with a flushed Redis
    advance(120)
    assert delivery.catch_up()["requeued"] == 120
    assert len(_jobs(redis_conn)) == math.ceil(120 / delivery.BATCH_SIZE)


def test_one_hour_reminders_are_delivered_on_high_priority(email_ctx, redis_conn):
    user = make_user()
    meeting = make_meeting(user, T0 + timedelta(minutes=55))
    start = meeting["scheduled_at"]
    assert accepted(send.send_reminder(meeting["_id"], user["_id"], "1h", start))
    assert accepted(send.send_reminder(meeting["_id"], user["_id"], "24h", start))
    assert [j.args[0] for j in _jobs(redis_conn, "high_priority")] == [
        [str(stored_row({"key": {"$regex": "^reminder-1h:"}})["_id"])]
    ]
    assert len(_jobs(redis_conn, "email")) == 1


def test_send_functions_use_the_documented_keys(email_ctx):
    user = make_user(email="ada@example.com", name="Ada")
    uid = str(user["_id"])
    meeting = make_meeting(user, T0 + timedelta(days=2), sequence=3)
    goal = make_goal(user, achieved=(0, 1))
    epoch = int(meeting["scheduled_at"].timestamp())
    mid = str(meeting["_id"])
    start = meeting["scheduled_at"]
    assert accepted(send.send_welcome(uid, "https://verify"))
    assert accepted(send.send_invitation(meeting))
    assert accepted(send.send_cancellation(meeting))
    assert accepted(send.send_reminder(mid, uid, "24h", start))
    assert accepted(send.send_milestone(uid, goal["_id"], 1))
    assert accepted(send.send_phase_transition(uid))
    assert accepted(send.send_password_reset(uid, "https://app/reset?token=abc", "abc"))
    keys = {doc["type"]: doc["key"] for doc in get_db().email_log.find()}
    reset_key = keys.pop("password_reset")
    assert reset_key.startswith(f"password-reset:{uid}:")
    assert keys == {
        "welcome": f"welcome:{uid}",
        "meeting_invitation": f"invitation:{mid}:3",
        "meeting_cancellation": f"cancellation:{mid}:3",
        "meeting_reminder": f"reminder-24h:{mid}:{epoch}",
        "goal_milestone": f"milestone:{goal['_id']}:1",
        "phase_transition": f"phase:{uid}:tracking",
    }
    # A new reset token is a new email; the same one is not.
    assert send.send_password_reset(uid, "https://app/reset?token=abc", "abc")["created"] is False
    assert accepted(send.send_password_reset(uid, "https://app/reset?token=def", "def"))
    assert get_db().email_log.count_documents({"type": "password_reset"}) == 2


def test_send_functions_report_what_was_not_accepted(email_ctx):
    quiet = make_user(email_notifications=False)
    bounced = make_user(email_status="bounced")
    assert not accepted(send.send_phase_transition(quiet["_id"]))
    assert accepted(send.send_password_reset(quiet["_id"], "https://r/1", "t1"))
    assert not accepted(send.send_password_reset(bounced["_id"], "https://r/2", "t2"))


def test_bad_references_raise_and_write_nothing(email_ctx):
    user = make_user()
    other = make_user()
    uid = str(user["_id"])
    foreign = make_meeting(other, T0 + timedelta(days=1))
    with pytest.raises(NotFound):
        outbox.queue_email("welcome", "k1", "0" * 24, {})
    with pytest.raises(NotFound):
        outbox.queue_email("welcome", "k2", "not-an-id", {})
    with pytest.raises(NotFound):
        outbox.queue_email("meeting_invitation", "k3", uid, {"meeting_id": "0" * 24})
    with pytest.raises(ValueError, match="does not belong"):
        outbox.queue_email("meeting_invitation", "k4", uid, {"meeting_id": str(foreign["_id"])})
    with pytest.raises(NotFound):
        outbox.queue_email("goal_milestone", "k5", uid, {"goal_id": "x", "index": 0})
    with pytest.raises(ValueError, match="unknown email type"):
        outbox.queue_email("newsletter", "k6", uid, {})
    with pytest.raises(ValueError, match="kind"):
        outbox.queue_email("meeting_reminder", "k7", uid, {"meeting_id": "0" * 24, "kind": "2h"})
    assert get_db().email_log.count_documents({}) == 0


def test_send_email_task_logs_under_the_job_id_and_never_sends_twice(
    email_ctx, fake_sendgrid, redis_conn, run_worker
):
    make_user(email="ada@example.com", name="Ada")
    for _ in range(2):
        # The same RQ job run twice (a retry, a manual re-run) keeps its key `job:<id>`.
        enqueue("app.jobs.emails.send_email_task", "welcome", "ada@example.com", job_id="same")
        run_worker(email_ctx)
    stored = stored_row({"key": "job:same"})
    assert stored["status"] == "sent"
    assert get_db().email_log.count_documents({}) == 1
    assert len(fake_sendgrid.requests) == 1
    result = Job.fetch("same", connection=redis_conn).return_value()
    assert result["status"] == "sent" and result["created"] is False


def test_send_email_task_to_an_address_that_is_no_user(email_ctx, fake_sendgrid, run_worker):
    enqueue(
        "app.jobs.emails.send_email_task",
        "password_reset",
        "Someone@Example.com",
        reset_url="https://app/reset?token=ops",
        user_name="Someone",
        idempotency_key="ops:reset:1",
    )
    run_worker(email_ctx)
    stored = stored_row({"key": "ops:reset:1"})
    assert stored["status"] == "sent" and stored["to"] == "someone@example.com"
    assert "user_id" not in stored
    assert fake_sendgrid.bodies[0]["personalizations"][0]["to"] == [
        {"email": "someone@example.com"}
    ]


def test_welcome_and_phase_tasks_deliver_in_their_job(
    email_ctx, fake_sendgrid, redis_conn, run_worker
):
    user = make_user()
    uid = str(user["_id"])
    meeting = make_meeting(user, T0 + timedelta(days=7))
    welcome = enqueue("app.jobs.emails.send_welcome_email_task", uid, verify_url="https://v/9")
    phase = enqueue("app.jobs.emails.send_phase_transition_email_task", uid)
    run_worker(email_ctx)
    assert FinishedJobRegistry("email", connection=redis_conn).count == 2  # no extra jobs
    assert welcome.return_value()["delivery"]["status"] == "sent"
    assert phase.return_value()["delivery"]["status"] == "sent"
    phase_row = stored_row({"key": f"phase:{uid}:tracking"})
    # Without a meeting id, the user's next scheduled meeting is the one shown.
    assert meeting["scheduled_at"] == T0 + timedelta(days=7)
    assert "Your first session:" in phase_row["text"]
    assert "Tuesday, January 21, 2031" in phase_row["text"]
    assert "3:00 PM - 3:30 PM UTC" in phase_row["text"]
    assert len(fake_sendgrid.requests) == 2


def test_forget_user_drops_bodies_and_stops_unsent_mail(email_ctx, fake_sendgrid, run_worker):
    user = make_user()
    uid = str(user["_id"])
    sent = outbox.queue_email("welcome", f"welcome:{uid}", uid, {})
    run_worker(email_ctx)
    unsent = outbox.queue_email("phase_transition", f"phase:{uid}:tracking", uid, {})
    assert outbox.forget_user(uid) == 2
    for email_id in (sent["id"], unsent["id"]):
        assert not any(field in _raw(email_id) for field in outbox.BODY_FIELDS)
        assert row(email_id)["html"] is None
    assert row(sent["id"])["status"] == "sent"
    assert row(unsent["id"])["status"] == "failed"
    run_worker(email_ctx)
    # A row that somehow comes back without a body fails instead of crashing the batch: here,
    # as a deletion that unsets only its values would leave it.
    goal_id = str(make_goal(user)["_id"])
    stray = outbox.queue_email("goal_milestone", "stray", uid, {"goal_id": goal_id, "index": 0})
    get_db().email_log.update_one({"_id": row(stray["id"])["_id"]}, {"$unset": {"values": ""}})
    assert delivery.deliver([stray["id"]])["status"] == "failed"
    assert row(stray["id"])["last_error"].startswith("the row has no body")
    assert len(fake_sendgrid.requests) == 1


def test_the_catch_up_task_runs_on_a_worker(email_ctx, redis_conn, run_worker):
    uid = str(make_user()["_id"])
    queued = outbox.queue_email("welcome", f"welcome:{uid}", uid, {})
    redis_conn.flushdb()
    job = enqueue(
        "app.jobs.emails.catch_up_emails_task", now=(T0 + timedelta(minutes=2)).isoformat()
    )
    run_worker(email_ctx)
    assert job.return_value() == {"status": "ok", "requeued": 1, "chased": 0, "failed": 0}
    assert row(queued["id"])["status"] == "sent"
