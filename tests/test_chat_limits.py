"""30 requests a minute per user on each chat route, whatever the IP."""

import pytest

from tests.chat_support import CHAT, chat_user

ROUTES = [
    ("GET", f"{CHAT}/access", None),
    ("GET", f"{CHAT}/history", None),
    ("POST", f"{CHAT}/send", {"message": "Keep me going!"}),
]


# Exact counts: each test starts well inside a clock minute (conftest.steady_window).
pytestmark = pytest.mark.usefixtures("steady_window")


def _call(client, route, headers, ip):
    method, path, body = route
    return client.open(
        path, method=method, json=body, headers=headers, environ_base={"REMOTE_ADDR": ip}
    )


def test_31st_call_by_one_user_from_two_ips_is_429_per_route(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    _, ada = chat_user(app, client)
    _, bob = chat_user(app, client, email="bob@example.com", name="Bob")
    for route in ROUTES:
        ips = ["198.51.100.1", "203.0.113.9"]
        statuses = [_call(client, route, ada, ips[n % 2]).status_code for n in range(30)]
        assert 429 not in statuses and set(statuses) <= {200, 201}, route
        refused = _call(client, route, ada, "192.0.2.77")
        assert refused.status_code == 429, route
        error = refused.get_json()["error"]
        assert error["code"] == "rate_limited" and "30 per 1 minute" in error["message"]
        assert refused.headers["X-RateLimit-Limit"] == "30"
        assert int(refused.headers["Retry-After"]) > 0
        assert _call(client, route, bob, ips[0]).status_code in (200, 201), route


def test_each_route_has_its_own_bucket(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    _, ada = chat_user(app, client)
    access = ROUTES[0]
    assert {_call(client, access, ada, "198.51.100.1").status_code for _ in range(30)} == {200}
    assert _call(client, access, ada, "198.51.100.1").status_code == 429
    assert _call(client, ROUTES[1], ada, "198.51.100.1").status_code == 200
    assert _call(client, ROUTES[2], ada, "198.51.100.1").status_code == 201
