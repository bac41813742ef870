"""The scheduled meeting jobs: statuses, next meetings (DST, outages), clean-up, and the
reminder lease under concurrency and crashes."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from app import clock
from app.db import get_db
from app.email import delivery
from app.email.send import reminder_key
from app.jobs.maintenance import cleanup_old_messages_task
from app.jobs.meetings import send_meeting_reminders_task, update_meeting_statuses_task
from app.meetings import reminders
from app.meetings import service as meetings
from tests.accounts import make_user


@pytest.fixture
def ctx(email_ctx):
    return email_ctx


def _user(app, **fields):
    user = make_user(app, email=f"u{ObjectId()}@example.com", **fields)
    return get_db().users.find_one({"_id": user["_id"]})


def _status(meeting) -> str:
    return get_db().meetings.find_one({"_id": meeting["_id"]})["status"]


def test_statuses_follow_the_clock(ctx, frozen_clock):
    user = _user(ctx)
    start = clock.now() + timedelta(hours=2)
    meeting = meetings.create_meeting(user, start, 30)
    late = meetings.create_meeting(user, start + timedelta(hours=3), 15)
    for offset, expected in (
        (timedelta(minutes=-1), "scheduled"),
        (timedelta(0), "active"),
        (timedelta(minutes=29, seconds=59), "active"),
        (timedelta(minutes=30), "completed"),
    ):
        result = update_meeting_statuses_task(now=(start + offset).isoformat())
        assert result["status"] == "ok"
        assert _status(meeting) == expected, offset
    # A job that runs late takes a meeting straight from scheduled to completed.
    update_meeting_statuses_task(now=(start + timedelta(hours=4)).isoformat())
    assert _status(late) == "completed"
    stored = get_db().meetings.find_one({"_id": late["_id"]})
    assert "activated_at" not in stored and stored["completed_at"]


def test_cancelled_meetings_never_change(ctx):
    user = _user(ctx)
    meeting = meetings.create_meeting(user, clock.now() + timedelta(hours=1), 30)
    meetings.cancel(user, meeting["_id"])
    update_meeting_statuses_task(now=(clock.now() + timedelta(days=2)).isoformat())
    assert _status(meeting) == "cancelled"


def _berlin(day: int, hour: int = 9) -> datetime:
    return datetime(2031, 10, day, hour, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def test_weekly_meeting_keeps_its_local_time_across_the_october_change(ctx, frozen_clock):
    frozen_clock.set_now(_berlin(14, 8))
    user = _user(ctx, phase="tracking", timezone="Europe/Berlin", meeting_interval_days=7)
    meetings.create_meeting(user, _berlin(14), 30)
    # Europe/Berlin leaves summer time on Sunday 26 October 2031.
    starts = []
    for _week in range(4):
        current = get_db().meetings.find_one({"user_id": user["_id"], "status": "scheduled"})
        end = current["scheduled_at"] + timedelta(minutes=current["duration_minutes"])
        update_meeting_statuses_task(now=(end + timedelta(minutes=1)).isoformat())
        upcoming = list(get_db().meetings.find({"user_id": user["_id"], "status": "scheduled"}))
        assert len(upcoming) == 1
        starts.append(upcoming[0]["scheduled_at"])
    local = [s.astimezone(ZoneInfo("Europe/Berlin")) for s in starts]
    assert [(t.day, t.hour, t.minute) for t in local] == [
        (21, 9, 0),
        (28, 9, 0),
        (4, 9, 0),
        (11, 9, 0),
    ]
    assert [s.hour for s in starts] == [7, 8, 8, 8]  # UTC moves, local time does not


def test_nonexistent_local_time_moves_forward(ctx, frozen_clock):
    new_york = ZoneInfo("America/New_York")
    first = datetime(2031, 3, 2, 2, 30, tzinfo=new_york).astimezone(UTC)
    frozen_clock.set_now(first - timedelta(hours=1))
    user = _user(ctx, phase="tracking", timezone="America/New_York", meeting_interval_days=7)
    meetings.create_meeting(user, first, 30)
    update_meeting_statuses_task(now=(first + timedelta(minutes=31)).isoformat())
    nxt = get_db().meetings.find_one({"user_id": user["_id"], "status": "scheduled"})
    # 9 March 2031 02:30 does not exist in New York (clocks jump 02:00 → 03:00).
    assert nxt["scheduled_at"].astimezone(new_york).strftime("%d %H:%M") == "09 03:30"


def test_three_week_outage_gives_exactly_one_future_meeting(ctx, frozen_clock):
    user = _user(
        ctx,
        phase="tracking",
        timezone="Asia/Tokyo",
        meeting_interval_days=7,
        meeting_duration_minutes=45,
    )
    start = clock.now() + timedelta(hours=1)
    meetings.create_meeting(user, start, 30)
    outage_over = start + timedelta(weeks=3, hours=5)
    frozen_clock.set_now(outage_over)
    for _ in range(3):  # and a second and third run change nothing
        update_meeting_statuses_task(now=outage_over.isoformat())
    future = list(
        get_db().meetings.find({"user_id": user["_id"], "scheduled_at": {"$gt": outage_over}})
    )
    assert len(future) == 1
    assert future[0]["scheduled_at"] == start + timedelta(weeks=4)
    assert future[0]["duration_minutes"] == 45  # the user's current duration
    assert get_db().meetings.count_documents({"user_id": user["_id"]}) == 2


def test_goal_setting_users_get_no_next_meeting(ctx):
    user = _user(ctx)
    start = clock.now() + timedelta(hours=1)
    meetings.create_meeting(user, start, 30)
    update_meeting_statuses_task(now=(start + timedelta(hours=1)).isoformat())
    assert get_db().meetings.count_documents({"user_id": user["_id"]}) == 1


def test_chat_cleanup_deletes_exactly_the_old_messages(ctx):
    now = clock.now()
    cutoff = now - timedelta(days=90)
    user_id = ObjectId()
    old = [cutoff - timedelta(milliseconds=1), cutoff - timedelta(days=400)]
    kept = [cutoff, cutoff + timedelta(milliseconds=1), now]
    docs = [
        {"user_id": user_id, "role": "user", "content": f"m{i}", "created_at": at}
        for i, at in enumerate(old * 1300 + kept)
    ]
    get_db().chat_messages.insert_many(docs)
    result = cleanup_old_messages_task(now=now.isoformat())
    assert result["deleted"] == 2600
    remaining = sorted(d["created_at"] for d in get_db().chat_messages.find())
    assert remaining == kept


def test_recurring_jobs_do_not_overlap_themselves(ctx, redis_conn):
    from app.queue import exclusive

    with exclusive(redis_conn, "update-meeting-statuses", 60) as held:
        assert held
        assert update_meeting_statuses_task()["status"] == "skipped"
        assert send_meeting_reminders_task()["status"] == "ok"
    assert update_meeting_statuses_task()["status"] == "ok"


def _reminders_sent(fake_sendgrid) -> int:
    """Reminder recipients the fake SendGrid received (a request may carry many)."""
    return sum(
        len(body["personalizations"])
        for body in fake_sendgrid.bodies
        if body["categories"] == ["meeting_reminder"]
    )


def _reminder_keys() -> list[str]:
    return sorted(r["key"] for r in get_db().email_log.find({"type": "meeting_reminder"}))


def test_two_workers_sweeping_at_the_same_instant_send_once(
    ctx, frozen_clock, run_worker, fake_sendgrid
):
    users = [_user(ctx) for _ in range(6)]
    base = clock.now()
    for n, user in enumerate(users):
        meetings.create_meeting(user, base + timedelta(hours=24, minutes=5 * n), 30)
    # Every 24 h window is open 30 minutes later; the exact-time jobs are never released here.
    moment = base + timedelta(minutes=30)
    frozen_clock.set_now(moment)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        with ctx.app_context():
            barrier.wait()
            results.append(reminders.sweep(moment))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = _reminder_keys()
    assert len(keys) == len(set(keys))
    assert sum(r["24h"] for r in results) == len(keys) == 6
    run_worker(ctx)
    assert _reminders_sent(fake_sendgrid) == len(keys)


def test_a_sweep_that_dies_after_writing_its_rows_is_caught_up_once(
    ctx, frozen_clock, monkeypatch, run_worker, fake_sendgrid
):
    user = _user(ctx)
    start = clock.now() + timedelta(hours=30)
    meeting = meetings.create_meeting(user, start, 30)
    run_worker(ctx)  # its invitation
    due = start - timedelta(hours=24)
    frozen_clock.set_now(due)
    real_send = reminders.delivery.send_claimed
    calls = {"n": 0}

    def crash_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the worker died between writing the rows and sending them")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(reminders.delivery, "send_claimed", crash_once)
    with pytest.raises(reminders.SweepFailed) as failed:
        reminders.sweep(due)
    assert isinstance(failed.value.__cause__.__cause__, ConnectionError)
    key = reminder_key("24h", meeting["_id"], start)
    assert _reminder_keys() == [key]
    assert get_db().email_log.find_one({"key": key})["status"] == "sending"
    # The row is the claim: a later sweep writes and sends nothing for it.
    assert reminders.sweep(due + timedelta(minutes=4))["24h"] == 0
    assert _reminders_sent(fake_sendgrid) == 0
    # Once its lease is over, the outbox catch-up sends it, once.
    frozen_clock.set_now(due + delivery.lease_duration() + timedelta(seconds=1))
    assert delivery.catch_up()["requeued"] == 1
    run_worker(ctx)
    assert get_db().email_log.find_one({"key": key})["status"] == "sent"
    assert _reminders_sent(fake_sendgrid) == 1
    assert reminders.sweep(due + timedelta(minutes=30))["24h"] == 0
    assert _reminders_sent(fake_sendgrid) == 1


def test_a_step_that_cannot_be_composed_does_not_hold_back_the_next(
    ctx, frozen_clock, monkeypatch, run_worker, fake_sendgrid
):
    start = clock.now() + timedelta(hours=30)
    for _ in range(2):
        meetings.create_meeting(_user(ctx), start, 30)
    run_worker(ctx)  # their invitations
    monkeypatch.setattr(reminders.delivery, "BATCH_SIZE", 1)  # one meeting a step
    real_prepare = reminders.outbox.prepare_many
    calls = {"n": 0}

    def fail_first(emails):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("a template that cannot be rendered")
        return real_prepare(emails)

    monkeypatch.setattr(reminders.outbox, "prepare_many", fail_first)
    due = start - timedelta(hours=24)
    frozen_clock.set_now(due)
    with pytest.raises(reminders.SweepFailed) as failed:
        reminders.sweep(due)
    assert isinstance(failed.value.__cause__.__cause__, ValueError)
    assert len(_reminder_keys()) == 1
    assert _reminders_sent(fake_sendgrid) == 1
