"""Unsubscribe: the GET page changes nothing, the RFC 8058 one-click POST does. These use
tokens without a category, as mail sent before categories carries: they still turn every
optional category off (per-category links: test_email_preferences.py)."""

import logging
import re
from datetime import timedelta

import pytest

from app.db import get_db
from app.email import outbox
from app.email.send import accepted, send_invitation
from app.email.tokens import make_unsubscribe_token
from tests.email_support import T0, make_meeting, make_user

URL = "/api/v1/unsubscribe"


@pytest.fixture
def user(email_ctx):
    return make_user(email="ada@example.com", name="Ada")


def _notifications(user) -> bool:
    return get_db().users.find_one({"_id": user["_id"]})["email_notifications"]


def test_the_page_shows_a_button_and_changes_nothing(email_app, user):
    token = make_unsubscribe_token(str(user["_id"]))
    response = email_app.test_client().get(f"{URL}?token={token}")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert "ada@example.com" in page
    assert re.search(r'<form method="post" action="/api/v1/unsubscribe\?token=[^"]+">', page)
    assert "<button" in page and "Stop every email you can turn off?" in page
    assert _notifications(user) is True


def test_one_click_post_with_the_form_body_turns_notifications_off(email_app, user):
    token = make_unsubscribe_token(str(user["_id"]))
    response = email_app.test_client().post(
        f"{URL}?token={token}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.get_json() == {"status": "unsubscribed", "category": None}
    assert _notifications(user) is False
    meeting = make_meeting(user, T0 + timedelta(days=1))
    assert not accepted(send_invitation(meeting))
    # Idempotent: a second click is fine.
    again = email_app.test_client().post(
        f"{URL}?token={token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert again.status_code == 200


def test_the_page_button_posts_and_answers_with_a_page(email_app, user):
    token = make_unsubscribe_token(str(user["_id"]))
    response = email_app.test_client().post(
        f"{URL}?token={token}",
        data={"List-Unsubscribe": "One-Click"},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert response.status_code == 200
    assert "No more emails you can turn off" in response.get_data(as_text=True)
    assert _notifications(user) is False


def test_the_header_of_a_real_email_turns_off_its_own_category(email_app, user):
    meeting = make_meeting(user, T0 + timedelta(days=1))
    queued = outbox.queue_email(
        "meeting_invitation",
        "invitation:x:0",
        str(user["_id"]),
        {"meeting_id": str(meeting["_id"])},
    )
    header = get_db().email_log.find_one({"key": "invitation:x:0"})["headers"]["List-Unsubscribe"]
    assert queued["status"] == "pending"
    url = header.strip("<>").removeprefix("https://api.goalgetter.example")
    response = email_app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert response.get_json()["category"] == "meeting_updates"
    assert _notifications(user) is True
    stored = get_db().users.find_one({"_id": user["_id"]})
    assert stored["notifications"] == {"meeting_updates": False}


def test_a_tampered_token_is_a_400(email_app, user):
    token = make_unsubscribe_token(str(user["_id"]))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    client = email_app.test_client()
    for bad in (tampered, "", "garbage"):
        page = client.get(f"{URL}?token={bad}")
        assert page.status_code == 400
        assert page.content_type.startswith("text/html")
        assert "token_tampered" in page.get_data(as_text=True)
        posted = client.post(f"{URL}?token={bad}", data={"List-Unsubscribe": "One-Click"})
        assert posted.status_code == 400
        assert posted.get_json()["error"]["code"] == "token_tampered"
    # A token signed with another secret is tampered too.
    foreign = make_unsubscribe_token(str(user["_id"]))
    with email_app.app_context():
        email_app.config["SECRET_KEY"] = "another-secret"
        assert client.get(f"{URL}?token={foreign}").status_code == 400
    assert _notifications(user) is True


def test_a_deleted_user_is_simply_done(email_app, user):
    token = make_unsubscribe_token(str(user["_id"]))
    get_db().users.delete_one({"_id": user["_id"]})
    assert email_app.test_client().get(f"{URL}?token={token}").status_code == 200
    assert email_app.test_client().post(f"{URL}?token={token}").status_code == 200


def test_the_limit_keys_on_the_token_without_writing_it(make_app, caplog, redis_conn):
    # The token never expires and unsubscribes its owner: it must not reach a log or Redis.
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        token = make_unsubscribe_token(str(make_user(email="ada@example.com")["_id"]))
        other = make_unsubscribe_token(str(make_user(email="bob@example.com")["_id"]))
    client = app.test_client()
    form = {"List-Unsubscribe": "One-Click"}
    with caplog.at_level(logging.DEBUG):
        statuses = [client.post(f"{URL}?token={token}", data=form).status_code for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    assert client.post(f"{URL}?token={other}", data=form).status_code == 200
    assert "exceeded" in caplog.text  # the limiter did log the trip
    keys = b" ".join(redis_conn.keys("*")).decode()
    assert "unsubscribe:" in keys
    for part in (token, *token.split(".")):
        assert part not in caplog.text and part not in keys
