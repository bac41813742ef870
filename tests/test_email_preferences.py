"""Email preferences per category: the API, the gate, the check at send time, the one-click
link of each email and the preference centre it opens."""

import re
from datetime import timedelta

import pytest

from app.db import get_db
from app.email import outbox, send
from app.email.tokens import make_unsubscribe_token
from tests.accounts import bearer, login
from tests.accounts import make_user as make_account
from tests.email_support import T0, make_goal, make_meeting, make_user, row

URL = "/api/v1/users/me/notifications"
ALL_ON = {"meeting_reminders": True, "meeting_updates": True, "progress": True, "account": True}


@pytest.fixture
def session(email_app):
    make_account(email_app)
    return bearer(login(email_app.test_client())["access_token"])


def _stored(email_app, email="ada@example.com") -> dict:
    with email_app.app_context():
        return get_db().users.find_one({"email": email})


def test_every_category_starts_on_and_patch_changes_only_what_it_names(email_app, session):
    client = email_app.test_client()
    assert client.get(URL, headers=session).get_json() == ALL_ON
    response = client.patch(URL, json={"progress": False}, headers=session)
    assert response.status_code == 200
    assert response.get_json() == {**ALL_ON, "progress": False}
    both = client.patch(URL, json={"meeting_updates": False, "progress": True}, headers=session)
    assert both.get_json() == {**ALL_ON, "meeting_updates": False}
    assert client.patch(URL, json={}, headers=session).get_json() == both.get_json()
    assert client.get(URL, headers=session).get_json() == both.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account": False}, "account"),
        ({"account": True}, "account"),
        ({"marketing": False}, "marketing"),
        ({"progress": "no"}, "progress"),
        ({"progress": 0}, "progress"),
        ({"progress": None}, "progress"),
    ],
)
def test_account_unknown_keys_and_non_booleans_are_422(email_app, session, body, field):
    response = email_app.test_client().patch(URL, json=body, headers=session)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]["fields"]
    assert email_app.test_client().get(URL, headers=session).get_json() == ALL_ON


def test_the_routes_need_a_token(email_app):
    for method in ("get", "patch"):
        response = getattr(email_app.test_client(), method)(URL, json={})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "token_missing"


def test_the_profile_switch_turns_every_optional_category_off(email_app, session):
    client = email_app.test_client()
    client.patch("/api/v1/users/me", json={"email_notifications": False}, headers=session)
    off = {**ALL_ON, "meeting_reminders": False, "meeting_updates": False, "progress": False}
    assert client.get(URL, headers=session).get_json() == off
    # Turning one on switches the profile back on, with only that one on.
    response = client.patch(URL, json={"meeting_reminders": True}, headers=session)
    assert response.get_json() == {**off, "meeting_reminders": True}
    assert client.get("/api/v1/users/me", headers=session).get_json()["email_notifications"]
    # Turning ones off while it is off changes nothing anyone can see.
    client.patch("/api/v1/users/me", json={"email_notifications": False}, headers=session)
    assert client.patch(URL, json={"progress": False}, headers=session).get_json() == off


def test_an_email_of_a_category_turned_off_is_opted_out_and_the_others_go(email_ctx):
    user = make_user(notifications={"progress": False})
    goal = make_goal(user)
    milestone = send.send_milestone(user["_id"], goal["_id"], 0)
    assert milestone["status"] == "opted_out"
    assert row(milestone["id"])["html"] is None
    meeting = make_meeting(user, T0 + timedelta(minutes=55))
    reminder = send.send_reminder(meeting["_id"], user["_id"], "1h", meeting["scheduled_at"])
    assert reminder["status"] == "pending"
    # Account mail is critical: it goes even with everything off.
    get_db().users.update_one({"_id": user["_id"]}, {"$set": {"email_notifications": False}})
    reset = send.send_password_reset(user["_id"], "https://app/reset?token=x", "t1")
    assert reset["status"] == "pending"


def test_a_reminder_queued_before_its_category_was_turned_off_is_not_sent(
    email_ctx, fake_sendgrid, run_worker
):
    user = make_user()
    meeting = make_meeting(user, T0 + timedelta(minutes=55))
    other = make_meeting(user, T0 + timedelta(days=2))
    reminder = send.send_reminder(meeting["_id"], user["_id"], "1h", meeting["scheduled_at"])
    invitation = send.send_invitation(other)
    assert reminder["status"] == invitation["status"] == "pending"
    get_db().users.update_one(
        {"_id": user["_id"]}, {"$set": {"notifications.meeting_reminders": False}}
    )
    run_worker(email_ctx)
    stopped = row(reminder["id"])
    assert stopped["status"] == "opted_out"
    assert "opted_out_at" in stopped and stopped["html"] is None
    assert not any(field in stopped for field in outbox.BODY_FIELDS)
    assert row(invitation["id"])["status"] == "sent"
    assert [body["categories"] for body in fake_sendgrid.bodies] == [["meeting_invitation"]]


def test_each_email_carries_a_one_click_link_for_its_own_category(email_ctx):
    user = make_user()
    meeting = make_meeting(user, T0 + timedelta(minutes=55))
    goal = make_goal(user)
    results = {
        "meeting_reminders": send.send_reminder(
            meeting["_id"], user["_id"], "1h", meeting["scheduled_at"]
        ),
        "meeting_updates": send.send_invitation(meeting),
        "progress": send.send_milestone(user["_id"], goal["_id"], 0),
    }
    for category, result in results.items():
        header = row(result["id"])["headers"]["List-Unsubscribe"]
        token = make_unsubscribe_token(str(user["_id"]), category)
        assert header == f"<https://api.goalgetter.example/api/v1/unsubscribe?token={token}>"
    welcome = send.send_welcome(user["_id"], "https://v")
    assert "List-Unsubscribe" not in (row(welcome["id"]).get("headers") or {})


def _one_click(client, header: str, **kwargs):
    url = header.strip("<>").removeprefix("https://api.goalgetter.example")
    return client.post(url, data={"List-Unsubscribe": "One-Click"}, **kwargs)


def test_one_click_from_a_reminder_turns_off_reminders_only(email_ctx):
    user = make_user()
    meeting = make_meeting(user, T0 + timedelta(minutes=55))
    result = send.send_reminder(meeting["_id"], user["_id"], "1h", meeting["scheduled_at"])
    header = row(result["id"])["headers"]["List-Unsubscribe"]
    client = email_ctx.test_client()
    response = _one_click(client, header)
    assert response.status_code == 200
    assert response.get_json() == {"status": "unsubscribed", "category": "meeting_reminders"}
    stored = get_db().users.find_one({"_id": user["_id"]})
    assert stored["notifications"] == {"meeting_reminders": False}
    assert stored["email_notifications"] is True
    later = make_meeting(user, T0 + timedelta(days=3))
    assert send.send_invitation(later)["status"] == "pending"
    again = send.send_reminder(later["_id"], user["_id"], "24h", later["scheduled_at"])
    assert again["status"] == "opted_out"
    # A browser gets a page naming what stopped, linking back to the centre.
    page = _one_click(client, header, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "No more meeting reminders" in page
    assert 'href="/api/v1/unsubscribe?token=' in page


def _centre(client, token: str):
    return client.get(f"/api/v1/unsubscribe?token={token}")


def test_the_link_opens_a_preference_centre_that_works_without_javascript(email_ctx):
    user = make_user(email="ada@example.com", notifications={"progress": False})
    token = make_unsubscribe_token(str(user["_id"]), "meeting_reminders")
    client = email_ctx.test_client()
    response = _centre(client, token)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    page = response.get_data(as_text=True)
    assert "<script" not in page and "ada@example.com" in page
    boxes = dict(re.findall(r'<input type="checkbox" name="(\w+)" value="on"([^>]*)>', page))
    assert set(boxes) == {"meeting_reminders", "meeting_updates", "progress", "account"}
    assert "checked" in boxes["meeting_reminders"] and "checked" in boxes["meeting_updates"]
    assert "checked" not in boxes["progress"]
    assert "disabled" in boxes["account"] and "checked" in boxes["account"]
    [save] = re.findall(r'<form method="post" action="([^"]+)">\s*<p>Or choose', page)
    assert save == f"/api/v1/unsubscribe/preferences?token={token}"
    assert "Unsubscribe from these" in page
    # Saving the form: checked boxes on, the others off; the page says so.
    saved = client.post(
        save, data={"progress": "on", "meeting_updates": "on"}, headers={"Accept": "text/html"}
    )
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    stored = get_db().users.find_one({"_id": user["_id"]})
    assert stored["notifications"] == {
        "meeting_reminders": False,
        "meeting_updates": True,
        "progress": True,
    }
    # Nothing checked (a browser still sends the form's type); a script gets JSON.
    answer = client.post(save, data="", content_type="application/x-www-form-urlencoded")
    assert answer.get_json() == {
        "meeting_reminders": False,
        "meeting_updates": False,
        "progress": False,
        "account": True,
    }


def test_the_centre_refuses_bad_input(email_ctx):
    user = make_user()
    token = make_unsubscribe_token(str(user["_id"]), "progress")
    client = email_ctx.test_client()
    url = f"/api/v1/unsubscribe/preferences?token={token}"
    as_json = client.post(url, json={"progress": True})
    assert as_json.status_code == 415
    assert as_json.get_json()["error"]["code"] == "unsupported_media_type"
    for form in ({"account": ""}, {"marketing": "on"}, {"progress": "maybe"}):
        response = client.post(url, data=form)
        assert response.status_code == 422, form
        assert response.get_json()["error"]["code"] == "validation_error"
    tampered = client.post(url.replace(token[-6:], "AAAAAA"), data={"progress": "on"})
    assert tampered.status_code == 400
    assert tampered.get_json()["error"]["code"] == "token_tampered"
    assert _centre(client, token[:-3] + "xyz").status_code == 400
    assert "notifications" not in get_db().users.find_one({"_id": user["_id"]})


def test_the_queued_row_of_a_deleted_user_is_left_to_the_deletion(email_ctx):
    user = make_user()
    meeting = make_meeting(user, T0 + timedelta(days=2))
    result = outbox.queue_email(
        "meeting_invitation",
        "invitation:x:0",
        str(user["_id"]),
        {"meeting_id": str(meeting["_id"])},
    )
    token = make_unsubscribe_token(str(user["_id"]), "meeting_updates")
    get_db().users.delete_one({"_id": user["_id"]})
    client = email_ctx.test_client()
    assert "no longer exists" in _centre(client, token).get_data(as_text=True)
    gone = client.post(
        f"/api/v1/unsubscribe/preferences?token={token}",
        data="",
        content_type="application/x-www-form-urlencoded",
    )
    assert gone.status_code == 404
    assert row(result["id"])["status"] == "pending"
