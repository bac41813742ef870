"""The calendar feed: secret URLs, rotation, and the feed a calendar app reads (parsed with
icalendar, as the invitations are)."""

import json
from datetime import timedelta

import pytest
from icalendar import Calendar

from app import clock
from app.db import get_db
from tests.email_support import T0, advance, make_meeting
from tests.meetings_support import session

AT = T0 + timedelta(days=2)


@pytest.fixture
def ada(email_app):
    return session(email_app, email_app.test_client())


def _urls(client, headers) -> dict:
    response = client.get("/api/v1/users/me/calendar", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _path(urls: dict) -> str:
    return urls["https_url"].removeprefix("https://api.goalgetter.example")


def _events(response) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.get_data())
    return calendar, list(calendar.walk("VEVENT"))


def _invitation_event(email_type: str, sequence: int):
    row = get_db().email_log.find_one({"key": {"$regex": f"^{email_type}:.*:{sequence}$"}})
    [event] = Calendar.from_ical(row["attachments"][0]["content"]).walk("VEVENT")
    return event


def test_the_feed_follows_a_meeting_from_booking_to_cancellation(email_ctx, ada):
    client = email_ctx.test_client()
    urls = _urls(client, ada)
    assert urls["url"].startswith("webcal://api.goalgetter.example/api/v1/calendar/")
    assert urls["url"].endswith(".ics")
    assert urls["https_url"] == "https://" + urls["url"].removeprefix("webcal://")
    assert _urls(client, ada) == urls  # the same URL until rotated
    path = _path(urls)

    calendar, events = _events(client.get(path))
    assert events == []
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert "METHOD" not in calendar

    booked = client.post(
        "/api/v1/meetings", headers=ada, json={"scheduled_at": clock.isoformat(AT)}
    )
    assert booked.status_code == 201
    meeting_id = booked.get_json()["id"]
    _, [event] = _events(client.get(path))
    invitation = _invitation_event("invitation", 0)
    assert str(event["UID"]) == str(invitation["UID"]) == f"meeting-{meeting_id}@goalgetter.example"
    assert event["SEQUENCE"] == invitation["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt == AT and event["DTSTART"].to_ical().endswith(b"Z")
    assert event["DTEND"].dt == AT + timedelta(minutes=30)

    advance(60)
    moved = AT + timedelta(hours=3)
    patched = client.patch(
        f"/api/v1/meetings/{meeting_id}", headers=ada, json={"scheduled_at": clock.isoformat(moved)}
    )
    assert patched.status_code == 200
    _, [event] = _events(client.get(path))
    assert event["SEQUENCE"] == _invitation_event("invitation", 1)["SEQUENCE"] == 1
    assert event["DTSTART"].dt == moved and str(event["STATUS"]) == "CONFIRMED"

    advance(60)
    assert client.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=ada).status_code == 200
    _, [event] = _events(client.get(path))
    assert event["SEQUENCE"] == _invitation_event("cancellation", 2)["SEQUENCE"] == 2
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"meeting-{meeting_id}@goalgetter.example"


def test_meetings_from_30_days_back_on_and_only_the_owners(email_ctx, ada):
    client = email_ctx.test_client()
    user = get_db().users.find_one({"email": "ada@example.com"})
    old = make_meeting(user, T0 - timedelta(days=31), status="completed")
    recent = make_meeting(user, T0 - timedelta(days=29), status="completed")
    ahead = make_meeting(user, T0 + timedelta(days=7))
    stranger = session(email_ctx, client, email="bob@example.com", name="Bob")
    bob = get_db().users.find_one({"email": "bob@example.com"})
    make_meeting(bob, T0 + timedelta(days=8))
    _, events = _events(client.get(_path(_urls(client, ada))))
    uids = [str(e["UID"]) for e in events]
    assert uids == [f"meeting-{m['_id']}@goalgetter.example" for m in (recent, ahead)]
    assert str(old["_id"]) not in json.dumps(uids)
    _, bobs = _events(client.get(_path(_urls(client, stranger))))
    assert len(bobs) == 1


def test_a_conditional_get_is_304_until_the_feed_changes(email_ctx, ada):
    client = email_ctx.test_client()
    path = _path(_urls(client, ada))
    client.post("/api/v1/meetings", headers=ada, json={"scheduled_at": clock.isoformat(AT)})
    first = client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path).headers["ETag"] == etag  # same meetings, same bytes
    advance(5)
    client.post(
        "/api/v1/meetings",
        headers=ada,
        json={"scheduled_at": clock.isoformat(AT + timedelta(days=1))},
    )
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(_events(changed)[1]) == 2


def test_after_rotation_the_old_url_is_404_and_the_database_holds_no_url(email_ctx, ada):
    client = email_ctx.test_client()
    old = _urls(client, ada)
    assert client.get(_path(old)).status_code == 200
    rotated = client.post("/api/v1/users/me/calendar/rotate", headers=ada)
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new != old and _urls(client, ada) == new
    gone = client.get(_path(old))
    assert gone.status_code == 404
    assert gone.get_json()["error"]["code"] == "not_found"
    assert client.get(_path(new)).status_code == 200
    secret = _path(new).rsplit("/", 1)[1].removesuffix(".ics")
    assert len(secret) == 24 + 43
    stored = json.dumps(get_db().users.find_one({"email": "ada@example.com"}), default=str)
    assert secret[24:] not in stored and secret not in stored


@pytest.mark.parametrize(
    "secret",
    ["nope", "0" * 67, "6" * 24 + "A" * 43, "../../etc/passwd", "x" * 300],
)
def test_an_unknown_secret_is_a_json_404(email_ctx, ada, secret):
    response = email_ctx.test_client().get(f"/api/v1/calendar/{secret}.ics")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_urls_need_a_token(email_ctx):
    client = email_ctx.test_client()
    assert client.get("/api/v1/users/me/calendar").status_code == 401
    assert client.post("/api/v1/users/me/calendar/rotate").status_code == 401


def test_the_feed_is_limited_per_secret(make_app, frozen_clock):
    frozen_clock.set_now(T0)
    app = make_app(RATELIMIT_ENABLED=True, API_BASE_URL="https://api.goalgetter.example")
    client = app.test_client()
    ada = session(app, client)
    bob = session(app, client, email="bob@example.com", name="Bob")
    ada_path, bob_path = _path(_urls(client, ada)), _path(_urls(client, bob))
    statuses = [client.get(ada_path).status_code for _ in range(40)]
    # Exactly 30 then 429 inside one minute; across a minute boundary the sliding window
    # weighs the previous minute, so a few more may pass, never fewer.
    assert statuses[:30] == [200] * 30 and 429 in statuses[30:]
    assert client.get(bob_path).status_code == 200
