"""GET /chat/access and the lock on send: meeting windows decide, never stored statuses."""

from datetime import timedelta

import pytest

from tests.chat_support import CHAT, MS, T, add_meeting, chat_user, send, stored_messages


def _access(client, headers) -> dict:
    response = client.get(f"{CHAT}/access", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_goal_setting_is_open_without_meetings(app, client, frozen_clock):
    frozen_clock.set_now(T)
    _, ada = chat_user(app, client)
    assert _access(client, ada) == {
        "has_access": True,
        "reason": "goal_setting",
        "active_meeting": None,
        "next_meeting": None,
    }
    assert send(client, ada, "Hello!").status_code == 201


def test_tracking_without_meetings_is_locked(app, client, frozen_clock):
    frozen_clock.set_now(T)
    user, ada = chat_user(app, client, phase="tracking")
    assert _access(client, ada) == {
        "has_access": False,
        "reason": "outside_meeting",
        "active_meeting": None,
        "next_meeting": None,
    }
    refused = send(client, ada, "Anyone there?")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "chat_locked"
    assert stored_messages(app, user) == []


@pytest.mark.parametrize("stored_status", ["scheduled", "active", "completed"])
def test_before_inside_and_after_the_window(app, client, frozen_clock, stored_status):
    user, ada = chat_user(app, client, phase="tracking")
    meeting = add_meeting(app, user, T, duration_minutes=30, status=stored_status, sequence=2)
    meeting_id = str(meeting["_id"])
    expected = [
        (T - MS, False, "outside_meeting", None, meeting_id),
        (T, True, "meeting_active", meeting_id, None),
        (T + timedelta(minutes=30) - MS, True, "meeting_active", meeting_id, None),
        (T + timedelta(minutes=30), False, "outside_meeting", None, None),
    ]
    for moment, has_access, reason, active_id, next_id in expected:
        frozen_clock.set_now(moment)
        state = _access(client, ada)
        assert (state["has_access"], state["reason"]) == (has_access, reason), moment
        assert (state["active_meeting"] or {}).get("id") == active_id, moment
        assert (state["next_meeting"] or {}).get("id") == next_id, moment
        response = send(client, ada, f"At {moment.isoformat()}")
        assert response.status_code == (201 if has_access else 403), moment
        if not has_access:
            error = response.get_json()["error"]
            assert error["code"] == "chat_locked"
            opens_at = state["next_meeting"] and state["next_meeting"]["scheduled_at"]
            assert error["details"] == {"next_meeting_at": opens_at}


def test_meeting_representation_and_the_next_meeting_during_one(app, client, frozen_clock):
    user, ada = chat_user(app, client, phase="tracking")
    current = add_meeting(app, user, T, duration_minutes=45, status="scheduled", sequence=1)
    later = add_meeting(app, user, T + timedelta(days=7))
    frozen_clock.set_now(T + timedelta(minutes=10))
    state = _access(client, ada)
    assert state["active_meeting"] == {
        "id": str(current["_id"]),
        "scheduled_at": "2027-03-01T09:00:00.000Z",
        "ends_at": "2027-03-01T09:45:00.000Z",
        "duration_minutes": 45,
        "status": "scheduled",
        "sequence": 1,
        "created_at": "2027-02-22T09:00:00.000Z",
    }
    assert state["next_meeting"]["id"] == str(later["_id"])
    assert state["next_meeting"]["scheduled_at"] == "2027-03-08T09:00:00.000Z"


def test_cancelled_meeting_window_stays_locked(app, client, frozen_clock):
    user, ada = chat_user(app, client, phase="tracking")
    add_meeting(app, user, T, status="cancelled", sequence=1)
    frozen_clock.set_now(T - timedelta(hours=1))
    assert _access(client, ada)["next_meeting"] is None
    frozen_clock.set_now(T + timedelta(minutes=10))
    state = _access(client, ada)
    assert (state["has_access"], state["reason"], state["active_meeting"]) == (
        False,
        "outside_meeting",
        None,
    )
    assert send(client, ada, "Let me in").status_code == 403


def test_messages_inside_a_meeting_carry_its_id(app, client, frozen_clock):
    user, ada = chat_user(app, client, phase="tracking")
    meeting = add_meeting(app, user, T)
    frozen_clock.set_now(T + timedelta(minutes=5))
    assert send(client, ada, "Ready when you are").status_code == 201
    stored = stored_messages(app, user)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert {m["meeting_id"] for m in stored} == {meeting["_id"]}


def test_messages_outside_meetings_have_no_meeting_id_field(app, client, frozen_clock):
    frozen_clock.set_now(T)
    user, ada = chat_user(app, client)
    assert send(client, ada, "Hi").status_code == 201
    assert all("meeting_id" not in m for m in stored_messages(app, user))


def test_another_users_meeting_opens_nothing(app, client, frozen_clock):
    bob, _ = chat_user(app, client, email="bob@example.com", name="Bob", phase="tracking")
    add_meeting(app, bob, T)
    _, ada = chat_user(app, client, phase="tracking")
    frozen_clock.set_now(T + timedelta(minutes=1))
    state = _access(client, ada)
    assert (state["has_access"], state["active_meeting"], state["next_meeting"]) == (
        False,
        None,
        None,
    )


def test_chat_routes_need_a_token(client):
    for method, path in (("GET", "/access"), ("GET", "/history"), ("POST", "/send")):
        response = client.open(f"{CHAT}{path}", method=method, json={"message": "hi"})
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "token_missing"
