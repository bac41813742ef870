"""Goals: CRUD, owner only, milestones achieved once, pagination."""

import pytest

from tests.accounts import bearer, login, make_user


@pytest.fixture
def ada(app, client):
    make_user(app)
    return bearer(login(client)["access_token"])


@pytest.fixture
def bob(app, client):
    make_user(app, email="bob@example.com", name="Bob")
    return bearer(login(client, email="bob@example.com")["access_token"])


def _create(client, headers, **fields):
    body = {"title": "Run a marathon", "milestones": ["5k", "10k"], **fields}
    response = client.post("/api/v1/goals", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_and_list(client, ada):
    goal = _create(client, ada, description="Spring race", target_date="2027-04-01")
    assert goal["title"] == "Run a marathon"
    assert goal["target_date"] == "2027-04-01"
    assert goal["status"] == "active"
    assert goal["milestones"] == [
        {"index": 0, "title": "5k", "achieved_at": None},
        {"index": 1, "title": "10k", "achieved_at": None},
    ]
    assert goal["created_at"].endswith("Z")
    listing = client.get("/api/v1/goals", headers=ada).get_json()
    assert [g["id"] for g in listing["goals"]] == [goal["id"]]
    assert listing["next_cursor"] is None


def test_patch_changes_fields_but_not_milestones(client, ada):
    goal = _create(client, ada)
    patched = client.patch(
        f"/api/v1/goals/{goal['id']}", headers=ada, json={"title": "Run two", "target_date": None}
    )
    assert patched.status_code == 200 and patched.get_json()["title"] == "Run two"
    refused = client.patch(f"/api/v1/goals/{goal['id']}", headers=ada, json={"milestones": ["x"]})
    assert refused.status_code == 422
    assert "milestones" in refused.get_json()["error"]["details"]["fields"]


def test_achieve_once_and_status_follows(client, ada):
    goal = _create(client, ada)
    url = f"/api/v1/goals/{goal['id']}/milestones"
    first = client.post(f"{url}/0/achieve", headers=ada)
    assert first.status_code == 200
    achieved_at = first.get_json()["milestones"][0]["achieved_at"]
    assert achieved_at is not None and first.get_json()["status"] == "active"
    again = client.post(f"{url}/0/achieve", headers=ada).get_json()
    assert again["milestones"][0]["achieved_at"] == achieved_at
    done = client.post(f"{url}/1/achieve", headers=ada).get_json()
    assert done["status"] == "achieved"
    assert client.post(f"{url}/2/achieve", headers=ada).status_code == 404
    assert client.post(f"{url}/-1/achieve", headers=ada).status_code == 404


def test_another_users_goal_is_404(client, ada, bob):
    goal = _create(client, ada)
    url = f"/api/v1/goals/{goal['id']}"
    assert client.patch(url, headers=bob, json={"title": "mine now"}).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    assert client.post(f"{url}/milestones/0/achieve", headers=bob).status_code == 404
    assert client.get("/api/v1/goals", headers=bob).get_json()["goals"] == []
    assert client.delete(url, headers=ada).status_code == 204
    assert client.delete(url, headers=ada).status_code == 404


def test_malformed_ids_are_404(client, ada):
    for bad in ("nope", "123", "z" * 24, "%24ne"):
        assert client.patch(f"/api/v1/goals/{bad}", headers=ada, json={}).status_code == 404


def test_pagination_walks_every_goal_once(client, ada):
    created = {_create(client, ada, title=f"Goal {n}")["id"] for n in range(13)}
    seen, cursor = [], None
    while True:
        query = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/goals", headers=ada, query_string=query).get_json()
        seen.extend(goal["id"] for goal in page["goals"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 13 and set(seen) == created


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "!!notacursor"}]
)
def test_bad_pagination_arguments_are_422(client, ada, query):
    response = client.get("/api/v1/goals", headers=ada, query_string=query)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": 5},
        {"title": {"$ne": None}},
        {"title": "ok", "description": "x" * 2001},
        {"title": "ok", "target_date": "01/04/2027"},
        {"title": "ok", "milestones": ["m"] * 21},
        {"title": "ok", "milestones": [""]},
        {"title": "ok", "milestones": "5k"},
        {"title": "ok", "status": "achieved"},
        {"title": "x" * 10_000},
    ],
)
def test_bad_goal_bodies_are_422(client, ada, body):
    response = client.post("/api/v1/goals", headers=ada, json=body)
    assert response.status_code == 422, body
    assert response.get_json()["error"]["code"] == "validation_error"
