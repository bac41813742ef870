"""GET /chat/history: newest first by (created_at, id), cursor pagination, owner only."""

import re

from app.db import get_db
from tests.chat_support import CHAT, MS, T, chat_user, send

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _history(client, headers, **params):
    response = client.get(f"{CHAT}/history", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_send_then_history_shows_both_newest_first(app, client, frozen_clock):
    frozen_clock.set_now(T)  # both land in the same millisecond of the clock
    _, ada = chat_user(app, client)
    response = send(client, ada, "  Hello coach!  ")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"message", "reply"}
    message, reply = body["message"], body["reply"]
    assert set(message) == set(reply) == {"id", "role", "content", "created_at"}
    assert (message["role"], message["content"]) == ("user", "Hello coach!")
    assert reply["role"] == "assistant" and reply["content"]
    assert ISO_MS.match(message["created_at"]) and ISO_MS.match(reply["created_at"])
    assert message["created_at"] == "2027-03-01T09:00:00.000Z"
    history = _history(client, ada)
    assert history == {"messages": [reply, message], "next_cursor": None}


def test_120_messages_walked_seven_at_a_time_each_exactly_once(app, client):
    user, ada = chat_user(app, client)
    # Four messages per millisecond, so pages must break ties on the id.
    docs = [
        {
            "user_id": user["_id"],
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"message {i}",
            "created_at": T + (i // 4) * MS,
        }
        for i in range(120)
    ]
    with app.app_context():
        get_db().chat_messages.insert_many(docs)
    expected = [
        str(d["_id"]) for d in sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=True)
    ]
    seen, pages, cursor = [], 0, None
    while True:
        # Alternate the two names of the cursor parameter.
        params = {"limit": 7} | ({("cursor", "before")[pages % 2]: cursor} if cursor else {})
        page = _history(client, ada, **params)
        pages += 1
        assert 1 <= len(page["messages"]) <= 7
        seen += [m["id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 30, "pagination does not end"
    assert pages == 18  # 17 full pages and one of 1
    assert seen == expected


def test_default_page_is_fifty(app, client):
    user, ada = chat_user(app, client)
    docs = [
        {"user_id": user["_id"], "role": "user", "content": str(i), "created_at": T + i * MS}
        for i in range(51)
    ]
    with app.app_context():
        get_db().chat_messages.insert_many(docs)
    page = _history(client, ada)
    assert len(page["messages"]) == 50 and page["next_cursor"]
    assert page["messages"][0]["content"] == "50"
    rest = _history(client, ada, cursor=page["next_cursor"])
    assert [m["content"] for m in rest["messages"]] == ["0"] and rest["next_cursor"] is None


def test_another_user_sees_none(app, client):
    _, ada = chat_user(app, client)
    _, bob = chat_user(app, client, email="bob@example.com", name="Bob")
    assert send(client, ada, "Ada's secret plan").status_code == 201
    assert _history(client, bob) == {"messages": [], "next_cursor": None}
    assert send(client, bob, "Bob here").status_code == 201
    contents = [m["content"] for m in _history(client, ada)["messages"]]
    assert "Ada's secret plan" in contents and "Bob here" not in contents
    bob_contents = [m["content"] for m in _history(client, bob)["messages"]]
    assert "Ada's secret plan" not in bob_contents and "Bob here" in bob_contents


def test_bad_page_arguments_are_422(app, client):
    _, ada = chat_user(app, client)
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"before": "not-a-cursor"},
        {"cursor": "a" * 201},
    ):
        response = client.get(f"{CHAT}/history", headers=ada, query_string=params)
        assert response.status_code == 422, params
        error = response.get_json()["error"]
        assert error["code"] == "validation_error", params
        assert set(error["details"]["fields"]) <= {"limit", "cursor", "before"}, params
    assert _history(client, ada, limit=100)["messages"] == []
    assert _history(client, ada, limit=1)["messages"] == []


def test_cursor_and_before_must_agree(app, client):
    user, ada = chat_user(app, client)
    with app.app_context():
        get_db().chat_messages.insert_many(
            [
                {
                    "user_id": user["_id"],
                    "role": "user",
                    "content": str(i),
                    "created_at": T + i * MS,
                }
                for i in range(5)
            ]
        )
    first = _history(client, ada, limit=2)
    second = _history(client, ada, limit=2, cursor=first["next_cursor"])
    same = _history(client, ada, limit=2, cursor=first["next_cursor"], before=first["next_cursor"])
    assert same == second
    clash = client.get(
        f"{CHAT}/history",
        headers=ada,
        query_string={"cursor": first["next_cursor"], "before": second["next_cursor"]},
    )
    assert clash.status_code == 422
    assert "before" in clash.get_json()["error"]["details"]["fields"]
