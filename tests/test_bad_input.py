"""Garbage to every JSON route: always a 4xx in the error shape, never a 500."""

import pytest

from tests.accounts import bearer, login, make_user

NASTY_BODIES = [
    {"unexpected": 1},
    {"email": {"$ne": None}, "password": {"$gt": ""}},
    {"email": ["a@b.co"], "password": 12345678},
    {"title": {"$where": "sleep(1000)"}},
    {"name": "x" * 10_000, "password": "y" * 10_000, "email": "z" * 10_000 + "@x.co"},
    {"timezone": "Not/AZone", "current_password": None, "new_password": None},
    {"token": {"$regex": ".*"}, "new_password": []},
    {"id_token": 42},
    {"refresh_token": {"a": 1}, "everywhere": "yes"},
    [],
    "just a string",
    None,
    12,
]
RAW_BODIES = [b"{", b"\xff\xfe", b'{"a": NaN}', b"null"]


@pytest.fixture
def session(app, client):
    make_user(app)
    return login(client)


def _json_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.startswith("/api/v1/docs"):
            continue
        for method in rule.methods & {"POST", "PATCH", "DELETE", "PUT"}:
            path = rule.rule.replace("<goal_id>", "0" * 24).replace("<int:index>", "0")
            yield method, path


def _assert_clean(response, method, path, body):
    assert response.status_code < 500, (method, path, body, response.get_json())
    if response.status_code >= 400 and response.mimetype == "application/json":
        error = response.get_json()["error"]
        assert error["code"] and error["message"], (method, path)


def test_every_json_route_survives_nasty_bodies(app, client, session):
    routes = sorted(set(_json_routes(app)))
    assert len(routes) >= 12
    for method, path in routes:
        token = session["refresh_token"] if path.endswith("/refresh") else session["access_token"]
        for body in NASTY_BODIES:
            response = client.open(path, method=method, json=body, headers=bearer(token))
            _assert_clean(response, method, path, body)
        for raw in RAW_BODIES:
            response = client.open(
                path,
                method=method,
                data=raw,
                content_type="application/json",
                headers=bearer(token),
            )
            _assert_clean(response, method, path, raw)
        # Tokens may have been revoked by a logout above: start a new session.
        session = login(client)


def test_operator_objects_never_reach_a_query(app, client, session):
    response = client.post(
        "/api/v1/auth/login", json={"email": {"$ne": None}, "password": {"$ne": None}}
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["fields"]) == {"email", "password"}


def test_signup_validation(client):
    cases = [
        {"email": "a@b.co", "password": "short", "name": "Ada"},
        {"email": "a@b.co", "password": "x" * 129, "name": "Ada"},
        {"email": "not-an-email", "password": "long enough", "name": "Ada"},
        {"email": "a@b.co", "password": "long enough", "name": ""},
        {"email": "a@b.co", "password": "long enough", "name": "Ada", "timezone": "Nowhere"},
        {"email": "a@b.co", "password": "long enough", "name": "Ada", "is_admin": True},
        {"password": "long enough", "name": "Ada"},
    ]
    for body in cases:
        response = client.post("/api/v1/auth/signup", json=body)
        assert response.status_code == 422, body
