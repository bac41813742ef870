"""Input that used to reach the stdlib's or a store's limits (a 500): JSON nested thousands
deep, integers past 4,300 digits, lone surrogates and NUL in any string, on every JSON route;
the same in query strings. Each is a 4xx in the JSON error shape; the body kinds a 422
validation_error, before any view or store sees them (the service rejects such text rather
than storing it)."""

import pytest

from tests.accounts import bearer, login, make_user

DEEP = b"[" * 3000 + b"]" * 3000
DEEP_IN_FIELD = b'{"name": ' + b"[" * 3000 + b"]" * 3000 + b"}"
HUGE_INT = b'{"duration_minutes": ' + b"9" * 5000 + b"}"
HUGE_NEGATIVE_INT = b'{"limit": -' + b"1" * 4301 + b"}"
SURROGATE_FIELDS = [
    "name",
    "email",
    "password",
    "current_password",
    "new_password",
    "token",
    "title",
    "description",
    "message",
    "timezone",
    "id_token",
    "refresh_token",
]
SURROGATES = [rb"\ud800", rb"\udfff", rb"ok\udc00ok", rb"\ud800\ud800"]
NULS = [rb"\u0000", rb"Ada\u0000Lovelace"]
# A lone surrogate as a key, and nested under a list: the walk reaches every string.
ODD_PLACES = [
    rb'{"\ud800": 1}',
    rb'{"milestones": ["fine", "\ud800"]}',
    rb'{"title": "ok", "milestones": [{"x": "\u0000"}]}',
]


def body_kinds() -> list[tuple[str, bytes]]:
    """(label, raw JSON body) of every hostile body kind."""
    kinds = [("deep", DEEP), ("deep-in-field", DEEP_IN_FIELD), ("huge-int", HUGE_INT)]
    kinds.append(("huge-negative-int", HUGE_NEGATIVE_INT))
    for field in SURROGATE_FIELDS:
        for text in SURROGATES + NULS:
            kinds.append((f"{field}={text.decode()}", b'{"%s": "%s"}' % (field.encode(), text)))
    kinds.extend((place.decode(), place) for place in ODD_PLACES)
    return kinds


def json_routes(app):
    """(method, path) of every JSON body route under /api/v1, ids filled with real-looking ones."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.startswith("/api/v1/docs"):
            continue
        if getattr(app.view_functions[rule.endpoint], "raw_body_limit", None):
            continue
        for method in sorted(rule.methods & {"POST", "PATCH", "DELETE", "PUT"}):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", "0" * 24).replace(f"<int:{name}>", "0")
            yield method, path.replace("<path:", "<").replace("<name>", "health-check")


def assert_shape(response, status: int, code: str, context) -> None:
    assert response.status_code == status, (context, response.status_code, response.data[:300])
    assert response.mimetype == "application/json", context
    error = response.get_json()["error"]
    assert error["code"] == code, (context, error)
    assert error["message"] and isinstance(error["details"], dict), context


@pytest.fixture
def headers(app, client):
    make_user(app)
    return bearer(login(client)["access_token"])


def test_every_json_route_answers_hostile_bodies_with_a_422(app, client, headers):
    routes = sorted(set(json_routes(app)))
    assert len(routes) >= 20, routes
    kinds = body_kinds()
    for method, path in routes:
        for label, raw in kinds:
            response = client.open(
                path, method=method, data=raw, content_type="application/json", headers=headers
            )
            assert_shape(response, 422, "validation_error", (method, path, label))


def test_the_422_names_the_field(client):
    body = rb'{"email": "a@b.co", "password": "long enough", "name": "\ud800"}'
    response = client.post("/api/v1/auth/signup", data=body, content_type="application/json")
    assert_shape(response, 422, "validation_error", "signup")
    assert list(response.get_json()["error"]["details"]["fields"]) == ["name"]


def test_nan_and_infinity_are_not_json(client):
    for raw in (b'{"limit": NaN}', b'{"limit": Infinity}', b'{"limit": -Infinity}'):
        response = client.post("/api/v1/auth/login", data=raw, content_type="application/json")
        assert_shape(response, 400, "invalid_json", raw)


def test_a_shallow_body_with_a_long_but_sane_integer_still_reaches_validation(client, headers):
    # 100 digits is the parser's bound: under it the view's own validation answers.
    raw = b'{"scheduled_at": "2099-01-20T10:00:00Z", "duration_minutes": ' + b"9" * 100 + b"}"
    response = client.post(
        "/api/v1/meetings", data=raw, content_type="application/json", headers=headers
    )
    assert_shape(response, 422, "validation_error", "meetings")
    assert "duration_minutes" in response.get_json()["error"]["details"]["fields"]


# Every list takes limit and cursor: these must be refused.
REFUSED_QUERIES = [
    "limit=" + "9" * 5000,
    "limit=-" + "9" * 5000,
    "cursor=%ED%A0%80",
    "cursor=%00",
    "cursor=" + "A" * 4000,
]
# Filters some lists take and others ignore: never a 5xx.
ODD_QUERIES = ["status=%00", "status=%ED%A0%80", "before=%F0%9F", "to=%00", "type=%ED%A0%80"]


def test_hostile_query_strings_are_a_4xx_in_the_shape(app, client, headers):
    app.test_cli_runner().invoke(args=["users", "grant-admin", "ada@example.com"])
    paths = ["/api/v1/goals", "/api/v1/meetings", "/api/v1/chat/history", "/api/v1/admin/emails"]
    for path in paths:
        for query in REFUSED_QUERIES:
            response = client.get(f"{path}?{query}", headers=headers)
            assert 400 <= response.status_code < 500, (path, query, response.data[:300])
            assert response.get_json()["error"]["code"], (path, query)
        for query in ODD_QUERIES:
            response = client.get(f"{path}?{query}", headers=headers)
            assert response.status_code in (200, 400, 422), (path, query, response.data[:300])
