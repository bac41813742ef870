"""The meetings API end to end: its rules, the emails at the fake SendGrid, the reminder jobs."""

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from rq.job import Job

from app import clock
from app.db import get_db
from app.meetings import service
from tests.email_support import T0, release_due
from tests.meetings_support import (
    event_of,
    recipient,
    reminder_job_id,
    scheduled_jobs,
    sent,
    session,
)

AT = datetime(2031, 1, 20, 10, 0, tzinfo=UTC)  # six days after T0


def iso(moment: datetime) -> str:
    """The API's datetime format."""
    return clock.isoformat(moment)


@pytest.fixture
def client(email_app):
    return email_app.test_client()


@pytest.fixture
def ada(email_app, client):
    return session(email_app, client)


@pytest.fixture
def bob(email_app, client):
    return session(email_app, client, email="bob@example.com", name="Bob")


def _post(client, headers, at, **fields):
    body = {"scheduled_at": at if isinstance(at, str) else iso(at), **fields}
    return client.post("/api/v1/meetings", headers=headers, json=body)


def _create(client, headers, at, **fields) -> dict:
    response = _post(client, headers, at, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _patch(client, headers, meeting_id, **fields):
    return client.patch(f"/api/v1/meetings/{meeting_id}", headers=headers, json=fields)


def _cancel(client, headers, meeting_id):
    return client.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=headers)


def _list(client, headers, query="") -> dict:
    response = client.get(f"/api/v1/meetings{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _error(response, status, code):
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    return response.get_json()["error"]


def _reminder_ids(meeting_id, start: datetime) -> tuple[str, str]:
    return reminder_job_id("24h", start), reminder_job_id("1h", start)


def test_create_returns_the_meeting_and_sends_one_invitation(
    email_app, client, ada, fake_sendgrid, run_worker
):
    response = _post(client, ada, "2031-01-20T15:00:00+05:00")
    assert response.status_code == 201
    meeting = response.get_json()
    assert ObjectId.is_valid(meeting["id"])
    assert meeting == {
        "id": meeting["id"],
        "scheduled_at": "2031-01-20T10:00:00.000Z",
        "ends_at": "2031-01-20T10:30:00.000Z",
        "duration_minutes": 30,
        "status": "scheduled",
        "sequence": 0,
        "created_at": iso(T0),
    }
    with email_app.app_context():
        stored = get_db().meetings.find_one({"_id": ObjectId(meeting["id"])})
    assert stored["scheduled_at"] == AT and stored["slot_taken"] is True

    run_worker(email_app)
    assert [b["categories"] for b in fake_sendgrid.bodies] == [["meeting_invitation"]]
    [invitation] = sent(fake_sendgrid, "meeting_invitation")
    assert recipient(invitation) == "ada@example.com"
    event = event_of(invitation, "REQUEST")
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == AT
    assert event.decoded("DTEND") == AT + timedelta(minutes=30)
    assert event["DTSTART"].to_ical() == b"20310120T100000Z"


def test_start_times_keep_whole_seconds_so_the_exact_time_reminder_finds_them(
    email_app, client, ada, fake_sendgrid, run_worker, redis_conn, frozen_clock
):
    meeting = _create(client, ada, "2031-01-20T10:00:00.750Z")
    assert meeting["scheduled_at"] == "2031-01-20T10:00:00.000Z"
    unchanged = _patch(client, ada, meeting["id"], scheduled_at="2031-01-20T10:00:00.250Z")
    assert unchanged.get_json()["sequence"] == 0
    run_worker(email_app)
    [invitation] = sent(fake_sendgrid, "meeting_invitation")
    assert event_of(invitation, "REQUEST").decoded("DTSTART") == AT

    frozen_clock.set_now(AT - timedelta(hours=24))
    assert release_due(redis_conn) == 1
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_reminder")) == 1


def test_duration_defaults_to_the_users_preference_and_stays_within_bounds(
    email_app, client, fake_sendgrid, run_worker
):
    headers = session(email_app, client, meeting_duration_minutes=45)
    assert _create(client, headers, AT)["duration_minutes"] == 45
    shortest = _create(client, headers, AT + timedelta(hours=2), duration_minutes=15)
    assert shortest["ends_at"] == iso(AT + timedelta(hours=2, minutes=15))
    longest = _create(client, headers, AT + timedelta(hours=3), duration_minutes=120)
    assert longest["ends_at"] == iso(AT + timedelta(hours=5))
    for duration in (14, 121, 0, -30, "30", 30.5, None, True):
        response = _post(client, headers, AT + timedelta(days=1), duration_minutes=duration)
        error = _error(response, 422, "validation_error")
        assert set(error["details"]["fields"]) == {"duration_minutes"}, duration
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_invitation")) == 3


@pytest.mark.parametrize(
    "scheduled_at",
    [
        "2031-01-20T10:00:00",  # naive
        "2031-01-20",
        "2031-01-14T14:59:00Z",  # a minute ago
        "2031-01-14T15:00:00Z",  # now is not the future
        "2031-01-14T16:00:00+02:00",  # the past, with an offset
        "2020-01-01T00:00:00Z",
        "next tuesday",
        "",
        1893456000,
        None,
        {"$gt": "2031-01-01"},
    ],
)
def test_naive_past_and_malformed_start_times_are_422(email_app, client, ada, scheduled_at):
    response = client.post("/api/v1/meetings", headers=ada, json={"scheduled_at": scheduled_at})
    error = _error(response, 422, "validation_error")
    assert set(error["details"]["fields"]) == {"scheduled_at"}
    assert _list(client, ada)["meetings"] == []
    with email_app.app_context():
        assert get_db().email_log.count_documents({}) == 0


@pytest.mark.parametrize(
    "scheduled_at",
    ["9999-12-31T23:59:00+00:00", "9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59.999999Z"],
)
def test_start_times_at_the_end_of_the_calendar_are_422(client, ada, scheduled_at):
    meeting = _create(client, ada, AT)
    for response in (
        _post(client, ada, scheduled_at, duration_minutes=120),
        _patch(client, ada, meeting["id"], scheduled_at=scheduled_at),
    ):
        error = _error(response, 422, "validation_error")
        assert set(error["details"]["fields"]) == {"scheduled_at"}


def test_a_missing_start_time_or_unknown_field_is_422(client, ada):
    assert _error(client.post("/api/v1/meetings", headers=ada, json={}), 422, "validation_error")
    response = _post(client, ada, AT, status="completed")
    assert set(_error(response, 422, "validation_error")["details"]["fields"]) == {"status"}


def test_overlaps_with_a_live_meeting_are_409(email_app, client, ada, fake_sendgrid, run_worker):
    _create(client, ada, AT, duration_minutes=60)  # 10:00–11:00
    clashes = [
        (AT, 30),  # the exact same start
        (AT, 120),
        (AT + timedelta(minutes=30), 60),  # starts inside
        (AT - timedelta(minutes=30), 45),  # ends inside
        (AT - timedelta(minutes=15), 120),  # encloses it
        (AT + timedelta(minutes=15), 15),  # inside it
        (AT + timedelta(minutes=59), 15),  # the last minute
        ("2031-01-20T11:00:00+01:00", 30),  # the same start, written with another offset
    ]
    for start, duration in clashes:
        response = _post(client, ada, start, duration_minutes=duration)
        _error(response, 409, "meeting_overlap")
    _create(client, ada, AT + timedelta(minutes=60), duration_minutes=30)  # starts at its end
    _create(client, ada, AT - timedelta(minutes=30), duration_minutes=30)  # ends at its start
    assert len(_list(client, ada)["meetings"]) == 3
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_invitation")) == 3


def test_concurrent_overlapping_requests_book_one_meeting(email_app, ada, monkeypatch):
    check = service._overlaps

    def slow_check(*args, **kwargs):
        found = check(*args, **kwargs)
        time.sleep(0.05)  # widen the gap between the check and the insert that the lock closes
        return found

    monkeypatch.setattr(service, "_overlaps", slow_check)
    starts = [AT + timedelta(minutes=3 * i) for i in range(8)]  # all within 30 minutes
    barrier = threading.Barrier(len(starts))
    statuses = []

    def book(start):
        client = email_app.test_client()
        barrier.wait()
        statuses.append(_post(client, ada, start).status_code)

    threads = [threading.Thread(target=book, args=(start,)) for start in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    with email_app.app_context():
        assert get_db().meetings.count_documents({}) == 1


def test_another_users_meeting_never_overlaps(client, ada, bob):
    _create(client, ada, AT)
    _create(client, bob, AT)


def test_a_cancelled_slot_can_be_reused(email_app, client, ada, fake_sendgrid, run_worker):
    first = _create(client, ada, AT, duration_minutes=60)
    assert _cancel(client, ada, first["id"]).status_code == 200
    second = _create(client, ada, AT)
    third = _create(client, ada, AT + timedelta(minutes=30))
    assert _error(_post(client, ada, AT), 409, "meeting_overlap")
    listing = _list(client, ada)["meetings"]
    assert [(m["id"], m["status"]) for m in listing] == [
        (first["id"], "cancelled"),
        (second["id"], "scheduled"),
        (third["id"], "scheduled"),
    ]
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_invitation")) == 3
    assert len(sent(fake_sendgrid, "meeting_cancellation")) == 1


def test_the_list_shows_own_meetings_by_start_time_and_filters_by_status(
    email_app, client, ada, bob
):
    starts = [AT + timedelta(days=d) for d in (3, 0, 5, 1)]
    mine = {start: _create(client, ada, start)["id"] for start in starts}
    _create(client, bob, AT + timedelta(days=2))
    cancelled = mine[AT + timedelta(days=5)]
    _cancel(client, ada, cancelled)
    with email_app.app_context():
        get_db().meetings.update_one({"_id": ObjectId(mine[AT])}, {"$set": {"status": "completed"}})

    listing = _list(client, ada)
    assert [m["scheduled_at"] for m in listing["meetings"]] == [iso(s) for s in sorted(starts)]
    assert listing["next_cursor"] is None
    assert [m["id"] for m in _list(client, ada, "?status=cancelled")["meetings"]] == [cancelled]
    assert [m["id"] for m in _list(client, ada, "?status=completed")["meetings"]] == [mine[AT]]
    scheduled = _list(client, ada, "?status=scheduled")["meetings"]
    assert [m["scheduled_at"] for m in scheduled] == [
        iso(AT + timedelta(days=1)),
        iso(AT + timedelta(days=3)),
    ]
    assert _list(client, ada, "?status=active")["meetings"] == []
    assert len(_list(client, bob)["meetings"]) == 1


@pytest.mark.parametrize(
    "query",
    ["?status=bogus", "?status=", "?status=Scheduled", "?limit=0", "?limit=101", "?limit=x"],
)
def test_bad_list_arguments_are_422(client, ada, query):
    _error(client.get(f"/api/v1/meetings{query}", headers=ada), 422, "validation_error")


def test_pagination_walks_every_meeting_once(client, ada):
    starts = [AT + timedelta(hours=3 * i) for i in (6, 2, 0, 5, 1, 4, 3)]
    ids = [_create(client, ada, start)["id"] for start in starts]
    # Two meetings at one start time (a cancelled one and its replacement) tie on scheduled_at.
    _cancel(client, ada, ids[2])
    ids.append(_create(client, ada, AT)["id"])

    seen, query, pages = [], "?limit=3", 0
    while True:
        page = _list(client, ada, query)
        pages += 1
        assert len(page["meetings"]) <= 3
        seen.extend(page["meetings"])
        if page["next_cursor"] is None:
            break
        query = f"?limit=3&cursor={page['next_cursor']}"
    assert pages == 3
    assert sorted(m["id"] for m in seen) == sorted(ids)
    assert [m["scheduled_at"] for m in seen] == sorted(m["scheduled_at"] for m in seen)
    assert [m["status"] for m in seen[:2]] == ["cancelled", "scheduled"]  # the tie, by id


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "A" * 201,
        _cursor(None),
        _cursor({"a": 1}),
        _cursor(["2031-01-20T10:00:00+00:00"]),
        _cursor(["2031-01-20T10:00:00+00:00", 5]),
        _cursor(["2031-01-20T10:00:00+00:00", "not an object id"]),
        _cursor(["2031-01-20T10:00:00+00:00", "z" * 24]),
        _cursor(["yesterday", "0" * 24]),
    ],
)
def test_a_cursor_we_did_not_issue_is_422(client, ada, cursor):
    _create(client, ada, AT)
    response = client.get(f"/api/v1/meetings?cursor={cursor}", headers=ada)
    assert set(_error(response, 422, "validation_error")["details"]["fields"]) == {"cursor"}


def test_rescheduling_bumps_the_sequence_and_sends_an_updated_invitation(
    email_app, client, ada, fake_sendgrid, run_worker
):
    meeting = _create(client, ada, AT)
    later = AT + timedelta(days=1, hours=2)
    response = _patch(client, ada, meeting["id"], scheduled_at="2031-01-21T13:00:00+01:00")
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["scheduled_at"] == iso(later) and moved["ends_at"] == iso(
        later + timedelta(minutes=30)
    )
    assert moved["sequence"] == 1 and moved["status"] == "scheduled"
    assert moved["id"] == meeting["id"] and moved["created_at"] == meeting["created_at"]

    run_worker(email_app)
    first, update = sent(fake_sendgrid, "meeting_invitation")
    assert update["subject"].startswith("Updated:")
    events = [event_of(body, "REQUEST") for body in (first, update)]
    assert events[0]["UID"] == events[1]["UID"]
    assert [e["SEQUENCE"] for e in events] == [0, 1]
    assert events[1].decoded("DTSTART") == later
    assert events[1].decoded("DTEND") == later + timedelta(minutes=30)
    assert [m["scheduled_at"] for m in _list(client, ada)["meetings"]] == [iso(later)]


def test_a_duration_change_alone_is_an_update_too(
    email_app, client, ada, fake_sendgrid, run_worker
):
    meeting = _create(client, ada, AT)
    resized = _patch(client, ada, meeting["id"], duration_minutes=90).get_json()
    assert resized["sequence"] == 1 and resized["duration_minutes"] == 90
    assert resized["scheduled_at"] == meeting["scheduled_at"]
    assert resized["ends_at"] == iso(AT + timedelta(minutes=90))
    both = _patch(client, ada, meeting["id"], scheduled_at=iso(AT), duration_minutes=45)
    assert both.get_json()["sequence"] == 2
    run_worker(email_app)
    events = [event_of(b, "REQUEST") for b in sent(fake_sendgrid, "meeting_invitation")]
    assert [e["SEQUENCE"] for e in events] == [0, 1, 2]
    assert [e.decoded("DTEND") - e.decoded("DTSTART") for e in events] == [
        timedelta(minutes=30),
        timedelta(minutes=90),
        timedelta(minutes=45),
    ]


def test_a_patch_that_changes_nothing_sends_nothing(
    email_app, client, ada, fake_sendgrid, run_worker
):
    meeting = _create(client, ada, AT)
    for body in ({}, {"scheduled_at": "2031-01-20T11:00:00+01:00"}, {"duration_minutes": 30}):
        response = _patch(client, ada, meeting["id"], **body)
        assert response.status_code == 200
        assert response.get_json() == meeting
    run_worker(email_app)
    assert len(fake_sendgrid.bodies) == 1


def test_only_scheduled_meetings_can_move(email_app, client, ada, fake_sendgrid, run_worker):
    cancelled = _create(client, ada, AT)
    _cancel(client, ada, cancelled["id"])
    _error(
        _patch(client, ada, cancelled["id"], duration_minutes=60), 409, "meeting_not_reschedulable"
    )
    for status in ("active", "completed"):
        meeting = _create(client, ada, AT + timedelta(days=1 if status == "active" else 2))
        with email_app.app_context():
            get_db().meetings.update_one(
                {"_id": ObjectId(meeting["id"])}, {"$set": {"status": status}}
            )
        response = _patch(client, ada, meeting["id"], scheduled_at=iso(AT + timedelta(days=9)))
        _error(response, 409, "meeting_not_reschedulable")
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_invitation")) == 3


def test_moving_onto_another_meeting_or_into_the_past_is_refused(
    email_app, client, ada, fake_sendgrid, run_worker
):
    first = _create(client, ada, AT, duration_minutes=60)  # 10:00–11:00
    second = _create(client, ada, AT + timedelta(minutes=90))  # 11:30–12:00
    _error(_patch(client, ada, second["id"], scheduled_at=iso(AT)), 409, "meeting_overlap")
    onto_its_end = _patch(client, ada, second["id"], scheduled_at=iso(AT + timedelta(minutes=45)))
    _error(onto_its_end, 409, "meeting_overlap")
    growing = _patch(client, ada, first["id"], duration_minutes=121)
    _error(growing, 422, "validation_error")
    _error(_patch(client, ada, first["id"], duration_minutes=120), 409, "meeting_overlap")
    for past in ("2031-01-14T14:00:00Z", "2031-01-14T15:00:00Z", "2031-01-20T10:00:00"):
        response = _patch(client, ada, second["id"], scheduled_at=past)
        _error(response, 422, "validation_error")
    # Moving within its own old window is not an overlap with itself.
    shifted = _patch(client, ada, first["id"], scheduled_at=iso(AT + timedelta(minutes=15)))
    assert shifted.status_code == 200 and shifted.get_json()["sequence"] == 1
    run_worker(email_app)
    assert len(sent(fake_sendgrid, "meeting_invitation")) == 3


def test_a_meeting_can_move_into_a_cancelled_slot(client, ada):
    cancelled = _create(client, ada, AT)
    _cancel(client, ada, cancelled["id"])
    other = _create(client, ada, AT + timedelta(days=1))
    moved = _patch(client, ada, other["id"], scheduled_at=iso(AT))
    assert moved.status_code == 200, moved.get_json()


def test_cancel_sends_one_cancellation_and_cannot_repeat(
    email_app, client, ada, fake_sendgrid, run_worker
):
    meeting = _create(client, ada, AT)
    response = _cancel(client, ada, meeting["id"])
    assert response.status_code == 200
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled" and cancelled["sequence"] == 1
    assert cancelled["scheduled_at"] == meeting["scheduled_at"]
    _error(_cancel(client, ada, meeting["id"]), 409, "meeting_not_cancellable")
    with email_app.app_context():
        stored = get_db().meetings.find_one({"_id": ObjectId(meeting["id"])})
    assert "slot_taken" not in stored and stored["cancelled_at"] == T0
    assert stored["sequence"] == 1

    run_worker(email_app)
    [cancellation] = sent(fake_sendgrid, "meeting_cancellation")
    assert recipient(cancellation) == "ada@example.com"
    event = event_of(cancellation, "CANCEL")
    [invitation] = sent(fake_sendgrid, "meeting_invitation")
    assert event["UID"] == event_of(invitation, "REQUEST")["UID"]
    assert event["SEQUENCE"] == 1
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("DTSTART") == AT


def test_only_scheduled_meetings_can_be_cancelled(email_app, client, ada):
    for status in ("active", "completed"):
        meeting = _create(client, ada, AT + timedelta(days=1 if status == "active" else 2))
        with email_app.app_context():
            get_db().meetings.update_one(
                {"_id": ObjectId(meeting["id"])}, {"$set": {"status": status}}
            )
        _error(_cancel(client, ada, meeting["id"]), 409, "meeting_not_cancellable")


def test_cancel_after_a_reschedule_carries_the_next_sequence(
    email_app, client, ada, fake_sendgrid, run_worker
):
    meeting = _create(client, ada, AT)
    _patch(client, ada, meeting["id"], duration_minutes=60)
    assert _cancel(client, ada, meeting["id"]).get_json()["sequence"] == 2
    run_worker(email_app)
    [cancellation] = sent(fake_sendgrid, "meeting_cancellation")
    assert event_of(cancellation, "CANCEL")["SEQUENCE"] == 2


def test_reminder_jobs_are_armed_at_their_due_times(email_app, client, ada, redis_conn):
    meeting = _create(client, ada, AT)
    day, hour = _reminder_ids(meeting["id"], AT)
    assert scheduled_jobs(redis_conn) == {
        day: ("default", AT - timedelta(hours=24)),
        hour: ("high_priority", AT - timedelta(minutes=60)),
    }
    # One job per kind and due second, shared by every meeting at that time.
    assert day == f"reminders-24h-{int((AT - timedelta(hours=24)).timestamp())}"
    assert hour == f"reminders-1h-{int((AT - timedelta(minutes=60)).timestamp())}"


def test_meetings_at_the_same_time_share_their_reminder_jobs(
    email_app, client, ada, bob, redis_conn
):
    _create(client, ada, AT)
    bobs = _create(client, bob, AT)
    assert set(scheduled_jobs(redis_conn)) == set(_reminder_ids(bobs["id"], AT))
    # Bob cancels: Ada's meeting still needs the jobs.
    _cancel(client, bob, bobs["id"])
    assert set(scheduled_jobs(redis_conn)) == set(_reminder_ids(bobs["id"], AT))


def test_cancel_removes_the_reminder_jobs(email_app, client, ada, redis_conn):
    meeting = _create(client, ada, AT)
    other = _create(client, ada, AT + timedelta(days=1))
    _cancel(client, ada, meeting["id"])
    assert set(scheduled_jobs(redis_conn)) == set(
        _reminder_ids(other["id"], AT + timedelta(days=1))
    )
    for job_id in _reminder_ids(meeting["id"], AT):
        assert not Job.exists(job_id, connection=redis_conn)


def test_a_time_move_replaces_the_reminder_jobs(email_app, client, ada, redis_conn):
    meeting = _create(client, ada, AT)
    later = AT + timedelta(days=2, minutes=15)
    _patch(client, ada, meeting["id"], scheduled_at=iso(later))
    assert scheduled_jobs(redis_conn) == {
        reminder_job_id("24h", later): ("default", later - timedelta(hours=24)),
        reminder_job_id("1h", later): (
            "high_priority",
            later - timedelta(minutes=60),
        ),
    }
    for job_id in _reminder_ids(meeting["id"], AT):
        assert not Job.exists(job_id, connection=redis_conn)


def test_a_duration_change_leaves_the_reminder_jobs_alone(email_app, client, ada, redis_conn):
    meeting = _create(client, ada, AT)
    before = scheduled_jobs(redis_conn)
    created = {job_id: Job.fetch(job_id, connection=redis_conn).created_at for job_id in before}
    _patch(client, ada, meeting["id"], duration_minutes=60)
    assert scheduled_jobs(redis_conn) == before
    assert {
        job_id: Job.fetch(job_id, connection=redis_conn).created_at for job_id in before
    } == created


def test_another_users_meeting_is_404(email_app, client, ada, bob, fake_sendgrid, run_worker):
    meeting = _create(client, ada, AT)
    _error(_patch(client, bob, meeting["id"], duration_minutes=60), 404, "not_found")
    _error(_cancel(client, bob, meeting["id"]), 404, "not_found")
    assert _list(client, bob)["meetings"] == []
    assert _list(client, ada)["meetings"] == [meeting]
    run_worker(email_app)
    assert len(fake_sendgrid.bodies) == 1


@pytest.mark.parametrize(
    "meeting_id", ["nope", "0" * 23, "z" * 24, "0" * 25, str(ObjectId()), "%24ne", "..%2F..%2Fx"]
)
def test_malformed_or_unknown_ids_are_404(client, ada, meeting_id):
    _error(_patch(client, ada, meeting_id, duration_minutes=60), 404, "not_found")
    _error(_cancel(client, ada, meeting_id), 404, "not_found")


def test_every_meetings_route_needs_a_token(client):
    some_id = str(ObjectId())
    for method, path in [
        ("GET", "/api/v1/meetings"),
        ("POST", "/api/v1/meetings"),
        ("PATCH", f"/api/v1/meetings/{some_id}"),
        ("POST", f"/api/v1/meetings/{some_id}/cancel"),
    ]:
        response = client.open(path, method=method, json={"scheduled_at": iso(AT)})
        _error(response, 401, "token_missing")
