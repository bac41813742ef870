"""POST /users/me/phase: into tracking once, the first meeting at 09:00 local, two emails."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.db import get_db
from tests.email_support import T0
from tests.meetings_support import (
    event_of,
    recipient,
    reminder_job_id,
    scheduled_jobs,
    sent,
    session,
)

PHASE = "/api/v1/users/me/phase"


@pytest.fixture
def client(email_app):
    return email_app.test_client()


def _text_of(body: dict) -> str:
    return {part["type"]: part["value"] for part in body["content"]}["text/plain"]


def _meetings(client, headers) -> list[dict]:
    response = client.get("/api/v1/meetings", headers=headers)
    assert response.status_code == 200
    return response.get_json()["meetings"]


@pytest.mark.parametrize(
    ("timezone", "interval", "now", "first", "zone"),
    [
        ("UTC", 7, T0, datetime(2031, 1, 21, 9, 0, tzinfo=UTC), "UTC"),
        # 10:00 EST on the 14th.
        ("America/New_York", 7, T0, datetime(2031, 1, 21, 14, 0, tzinfo=UTC), "EST"),
        # 22:00 EST on the 14th although it is already the 15th in UTC: the local date counts.
        (
            "America/New_York",
            7,
            datetime(2031, 1, 15, 3, 0, tzinfo=UTC),
            datetime(2031, 1, 21, 14, 0, tzinfo=UTC),
            "EST",
        ),
        # Clocks go forward on 9 March 2031: 09:00 EDT is 13:00 UTC, not 14:00.
        (
            "America/New_York",
            7,
            datetime(2031, 3, 5, 15, 0, tzinfo=UTC),
            datetime(2031, 3, 12, 13, 0, tzinfo=UTC),
            "EDT",
        ),
        # Clocks go back on 26 October 2031: 09:00 CET is 08:00 UTC, not 07:00.
        (
            "Europe/Berlin",
            7,
            datetime(2031, 10, 22, 12, 0, tzinfo=UTC),
            datetime(2031, 10, 29, 8, 0, tzinfo=UTC),
            "CET",
        ),
        # 01:00 on the 15th in Tokyo; the next day at 09:00 JST is midnight UTC.
        (
            "Asia/Tokyo",
            1,
            datetime(2031, 1, 14, 16, 0, tzinfo=UTC),
            datetime(2031, 1, 16, 0, 0, tzinfo=UTC),
            "JST",
        ),
    ],
)
def test_tracking_starts_with_a_meeting_at_nine_local_and_two_emails(
    email_app,
    client,
    frozen_clock,
    fake_sendgrid,
    run_worker,
    redis_conn,
    timezone,
    interval,
    now,
    first,
    zone,
):
    frozen_clock.set_now(now)
    headers = session(
        email_app,
        client,
        timezone=timezone,
        meeting_interval_days=interval,
        meeting_duration_minutes=45,
    )
    response = client.post(PHASE, headers=headers, json={"phase": "tracking"})
    assert response.status_code == 200, response.get_json()
    user = response.get_json()
    assert user["phase"] == "tracking" and user["email"] == "ada@example.com"
    assert client.get("/api/v1/users/me", headers=headers).get_json() == user

    [meeting] = _meetings(client, headers)
    assert meeting["scheduled_at"] == clock.isoformat(first)
    assert meeting["duration_minutes"] == 45
    assert meeting["status"] == "scheduled" and meeting["sequence"] == 0
    assert set(scheduled_jobs(redis_conn)) == {
        reminder_job_id("24h", first),
        reminder_job_id("1h", first),
    }
    with email_app.app_context():
        stored = get_db().users.find_one({"email": "ada@example.com"})
    assert stored["phase"] == "tracking" and stored["phase_changed_at"] == clock.to_ms(now)

    run_worker(email_app)
    assert sorted(b["categories"][0] for b in fake_sendgrid.bodies) == [
        "meeting_invitation",
        "phase_transition",
    ]
    [phase] = sent(fake_sendgrid, "phase_transition")
    [invitation] = sent(fake_sendgrid, "meeting_invitation")
    assert recipient(phase) == recipient(invitation) == "ada@example.com"
    assert f"9:00 AM - 9:45 AM {zone} (45 minutes, times shown in {timezone})" in _text_of(phase)
    event = event_of(invitation, "REQUEST")
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == first
    assert event.decoded("DTEND") == first + timedelta(minutes=45)


def test_a_second_move_is_409_and_changes_nothing(email_app, client, fake_sendgrid, run_worker):
    headers = session(email_app, client)
    assert client.post(PHASE, headers=headers, json={"phase": "tracking"}).status_code == 200
    again = client.post(PHASE, headers=headers, json={"phase": "tracking"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_tracking"
    assert len(_meetings(client, headers)) == 1
    run_worker(email_app)
    assert len(fake_sendgrid.bodies) == 2


def test_concurrent_moves_make_one_transition(email_app, client, fake_sendgrid, run_worker):
    headers = session(email_app, client)
    barrier = threading.Barrier(6)
    statuses = []

    def move():
        response = email_app.test_client().post(PHASE, headers=headers, json={"phase": "tracking"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=lambda: (barrier.wait(), move())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert len(_meetings(client, headers)) == 1
    run_worker(email_app)
    assert len(fake_sendgrid.bodies) == 2


def test_a_user_with_notifications_off_still_moves_and_gets_no_email(
    email_app, client, fake_sendgrid, run_worker
):
    headers = session(email_app, client, email_notifications=False)
    response = client.post(PHASE, headers=headers, json={"phase": "tracking"})
    assert response.status_code == 200 and response.get_json()["phase"] == "tracking"
    assert len(_meetings(client, headers)) == 1
    run_worker(email_app)
    assert fake_sendgrid.bodies == []
    with email_app.app_context():
        rows = get_db().email_log.find({}, {"type": 1, "status": 1, "_id": 0})
        assert sorted((r["type"], r["status"]) for r in rows) == [
            ("meeting_invitation", "opted_out"),
            ("phase_transition", "opted_out"),
        ]


def test_the_first_meeting_never_lands_on_a_meeting_the_user_booked(email_app, client):
    headers = session(email_app, client)
    booked = client.post(
        "/api/v1/meetings",
        headers=headers,
        json={"scheduled_at": "2031-01-21T09:15:00Z", "duration_minutes": 30},
    )
    assert booked.status_code == 201
    assert client.post(PHASE, headers=headers, json={"phase": "tracking"}).status_code == 200
    meetings = _meetings(client, headers)
    assert [m["id"] for m in meetings] == [booked.get_json()["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"phase": "goal_setting"},
        {"phase": "TRACKING"},
        {"phase": " tracking"},
        {"phase": ""},
        {"phase": None},
        {"phase": ["tracking"]},
        {"phase": {"$ne": "goal_setting"}},
        {"phase": "tracking", "timezone": "UTC"},
        {},
        [],
        "tracking",
        None,
    ],
)
def test_anything_but_tracking_is_422(email_app, client, body):
    headers = session(email_app, client)
    response = client.post(PHASE, headers=headers, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/users/me", headers=headers).get_json()["phase"] == "goal_setting"
    assert _meetings(client, headers) == []
    with email_app.app_context():
        assert get_db().email_log.count_documents({}) == 0


def test_raw_garbage_and_no_token_are_4xx_in_the_error_shape(email_app, client):
    headers = session(email_app, client)
    cases = [
        (client.post(PHASE, headers=headers, data=b"{", content_type="application/json"), 400),
        (client.post(PHASE, headers=headers, data=b"phase=tracking"), 415),
        (client.post(PHASE, headers=headers), 422),
        (client.get(PHASE, headers=headers), 405),
        (client.post(PHASE, json={"phase": "tracking"}), 401),
        (
            client.post(PHASE, json={"phase": "tracking"}, headers={"Authorization": "Bearer x"}),
            401,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["code"]
    with email_app.app_context():
        assert get_db().meetings.count_documents({}) == 0
        assert get_db().users.find_one({"_id": {"$exists": True}})["phase"] == "goal_setting"
