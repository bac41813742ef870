"""POST /chat/send: what is stored, bad input, the daily quota."""

from datetime import timedelta

import pytest

from app.db import get_db
from tests.chat_support import CHAT, MS, T, chat_user, send, stored_messages

BAD_BODIES = [
    {"message": ""},
    {"message": "   \n\t  "},
    {"message": "x" * 4001},
    {"message": 42},
    {"message": ["hi"]},
    {"message": {"$ne": None}},
    {"message": None},
    {"message": True},
    {"message": "hi", "extra": 1},
    {"message": "hi", "role": "assistant"},
    {},
    [],
    "hi",
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_input_is_4xx_in_the_error_shape_and_stores_nothing(app, client, body):
    user, ada = chat_user(app, client)
    response = client.post(f"{CHAT}/send", headers=ada, json=body)
    assert 400 <= response.status_code < 500, body
    assert response.status_code == 422, body
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["message"], body
    assert error["details"]["fields"], body
    assert stored_messages(app, user) == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"message": ', "application/json", 400, "invalid_json"),
        (b"message=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"message": "' + b"x" * 70_000 + b'"}', "application/json", 413, "payload_too_large"),
    ],
)
def test_bodies_that_are_not_a_json_object(app, client, data, content_type, status, code):
    user, ada = chat_user(app, client)
    response = client.post(f"{CHAT}/send", headers=ada, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert stored_messages(app, user) == []


def test_the_message_is_trimmed_and_4000_characters_fit(app, client):
    user, ada = chat_user(app, client)
    longest = "y" * 4000
    response = send(client, ada, f"\n  {longest}  \n")
    assert response.status_code == 201
    assert response.get_json()["message"]["content"] == longest
    stored = stored_messages(app, user)
    assert (stored[0]["role"], stored[0]["content"]) == ("user", longest)
    assert stored[0]["created_at"] < stored[1]["created_at"]


def test_daily_quota_counts_user_messages_per_utc_day(make_app, redis_conn, frozen_clock):
    app = make_app(COACH_DAILY_LIMIT=3)
    client = app.test_client()
    user, ada = chat_user(app, client)
    midnight = T.replace(hour=0)
    frozen_clock.set_now(midnight - MS)
    assert send(client, ada, "yesterday").status_code == 201
    frozen_clock.set_now(midnight + timedelta(hours=23, minutes=58))
    # Three user messages today; the coach's replies do not count.
    assert [send(client, ada, f"hi {i}").status_code for i in range(3)] == [201] * 3
    over = send(client, ada, "one more")
    assert over.status_code == 429
    error = over.get_json()["error"]
    assert error["code"] == "coach_quota_exceeded" and "3" in error["message"]
    assert 0 < int(over.headers["Retry-After"]) <= 121
    assert "one more" not in [m["content"] for m in stored_messages(app, user)]
    # The count lives in MongoDB: a flushed Redis does not reset it.
    redis_conn.flushdb()
    assert send(client, ada, "after the flush").status_code == 429
    frozen_clock.set_now(midnight + timedelta(days=1))
    assert send(client, ada, "a new day").status_code == 201


def test_quota_is_per_user(make_app, frozen_clock):
    app = make_app(COACH_DAILY_LIMIT=1)
    client = app.test_client()
    frozen_clock.set_now(T)
    _, ada = chat_user(app, client)
    _, bob = chat_user(app, client, email="bob@example.com", name="Bob")
    assert send(client, ada, "mine").status_code == 201
    assert send(client, ada, "again").status_code == 429
    assert send(client, bob, "bob's first").status_code == 201


def test_locked_chat_is_refused_before_the_quota(make_app, frozen_clock):
    app = make_app(COACH_DAILY_LIMIT=1)
    client = app.test_client()
    frozen_clock.set_now(T)
    user, ada = chat_user(app, client, phase="tracking")
    with app.app_context():
        get_db().chat_messages.insert_one(
            {"user_id": user["_id"], "role": "user", "content": "x", "created_at": T - MS}
        )
    response = send(client, ada, "hello")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "chat_locked"
