"""The demo seed of `make run SEED=1`."""

from app.db import get_db
from app.seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from tests.accounts import bearer, login


def test_seed_creates_a_usable_demo_once(app, client):
    with app.app_context():
        first = seed_demo()
        again = seed_demo()
        user = get_db().users.find_one({"email": DEMO_EMAIL})
        assert get_db().goals.count_documents({"user_id": user["_id"]}) == 2
        assert get_db().meetings.count_documents({"user_id": user["_id"]}) == 2
    assert first["created"] is True and again["created"] is False
    session = login(client, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    assert session["user"]["phase"] == "tracking"
    goals = client.get("/api/v1/goals", headers=bearer(session["access_token"])).get_json()
    assert {g["title"] for g in goals["goals"]} == {"Run a half marathon", "Learn Spanish"}
