"""The per-user booking lock: a busy lock is a 503, never a blind booking."""

from app.db import get_db
from app.meetings import service as meetings
from tests.meetings_support import session


def test_a_held_booking_lock_is_503_not_a_blind_booking(app, client, redis_conn, monkeypatch):
    headers = session(app, client)
    with app.app_context():
        user = get_db().users.find_one({"email": "ada@example.com"})
    monkeypatch.setattr(meetings, "USER_LOCK_WAIT_S", 0.2)
    held = redis_conn.lock(f"lock:meetings:{user['_id']}", timeout=30)
    assert held.acquire(blocking=False)
    body = {"scheduled_at": "2099-01-01T09:00:00Z"}
    busy = client.post("/api/v1/meetings", headers=headers, json=body)
    assert busy.status_code == 503
    assert busy.get_json()["error"]["code"] == "service_unavailable"
    with app.app_context():
        assert get_db().meetings.count_documents({}) == 0
    held.release()
    assert client.post("/api/v1/meetings", headers=headers, json=body).status_code == 201
