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


NASTY_TIMES = [
    "2031-13-45T99:99:99Z",
    "+02031-01-20T10:00:00Z",
    "2031-01-20T10:00:00+25:00",
    "2031-01-20T10:00:00.0000000001Z",
    "2031-W03-1T10:00Z",
    "9999-12-31T23:59:59.999999-23:59",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "1969-12-31T23:59:59Z",
    "2031-01-20T10:00:00Z" * 100,
    "2031-01-20T10:00:00\x00Z",
    True,
    1e308,
    [],
]
NASTY_DURATIONS = [10**100, -(10**100), -1, 0, 1e308, "NaN", "30", 30.0, 30.5, [30], {"$gt": 0}]
RAW_MEETING_BODIES = [
    b'{"scheduled_at": "2031-01-20T10:00:00Z", "duration_minutes": 1e400}',
    b'{"scheduled_at": "2031-01-20T10:00:00Z", "duration_minutes": -Infinity}',
    b'{"scheduled_at": "2031-01-20T10:00:00Z", "scheduled_at": null}',
    b'{"now": "2031-01-20T10:00:00Z", "now": {"$gt": 1}}',
]


def test_meetings_phase_and_admin_routes_survive_nasty_input(app, client):
    """With real ids and an admin, so every request reaches the code behind its guards."""
    make_user(app)
    app.test_cli_runner().invoke(args=["users", "grant-admin", "ada@example.com"])
    headers = bearer(login(client)["access_token"])
    meeting = client.post(
        "/api/v1/meetings", headers=headers, json={"scheduled_at": "2099-01-20T10:00:00Z"}
    ).get_json()["id"]
    job = client.post("/api/v1/admin/jobs/health-check", headers=headers).get_json()["job_id"]
    routes = [
        ("POST", "/api/v1/meetings"),
        ("PATCH", f"/api/v1/meetings/{meeting}"),
        ("POST", f"/api/v1/meetings/{meeting}/cancel"),
        ("POST", "/api/v1/users/me/phase"),
        ("POST", "/api/v1/admin/jobs/update-meeting-statuses"),
        ("POST", "/api/v1/admin/jobs/health-check"),
    ]
    bodies = [
        *NASTY_BODIES,
        *({"scheduled_at": t, "duration_minutes": 30} for t in NASTY_TIMES),
        *({"scheduled_at": "2099-02-01T10:00:00Z", "duration_minutes": d} for d in NASTY_DURATIONS),
        *({"now": t} for t in NASTY_TIMES),
        {"phase": {"$ne": None}},
    ]
    for method, path in routes:
        for body in bodies:
            response = client.open(path, method=method, json=body, headers=headers)
            _assert_clean(response, method, path, body)
        for raw in [*RAW_BODIES, *RAW_MEETING_BODIES]:
            response = client.open(
                path, method=method, data=raw, content_type="application/json", headers=headers
            )
            _assert_clean(response, method, path, raw)
    queries = [
        "?status[$ne]=x",
        "?status=%00",
        "?limit=-1",
        "?limit=1e3",
        "?limit=99999999999999999999999",
        "?cursor=%FF%FE",
        "?cursor=W10",
        "?cursor=WyIyMDMxLTAxLTIwVDEwOjAwOjAwWiIsICJ4Il0",
        "?to=%00@x.co",
        "?type[$ne]=x",
        "?include=body&include=x",
    ]
    for path in ("/api/v1/meetings", "/api/v1/admin/emails", f"/api/v1/admin/jobs/{job}"):
        for query in queries:
            response = client.get(path + query, headers=headers)
            _assert_clean(response, "GET", path, query)
    for job_id in ("%00", "..", "a" * 10_000, "%2e%2e%2f", "rq:job:x"):
        response = client.get(f"/api/v1/admin/jobs/{job_id}", headers=headers)
        _assert_clean(response, "GET", "/api/v1/admin/jobs/<job_id>", job_id)
