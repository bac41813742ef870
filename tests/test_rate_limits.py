"""Rate limits on the real test Redis."""

import json
import subprocess
import sys
import threading
import time

import pytest
import redis
from flask_jwt_extended import jwt_required

from app.config import ROOT
from app.extensions import limiter
from app.limits import user_or_ip
from devtools.services import RedisServer, running
from tests.accounts import bearer, login, make_user

LOGIN = "/api/v1/auth/login"
ATTEMPT = {"email": "nobody@example.com", "password": "wrong password"}


def _login_statuses(client, count, **kwargs) -> list[int]:
    return [client.post(LOGIN, json=ATTEMPT, **kwargs).status_code for _ in range(count)]


# Exact counts: each test starts well inside a clock minute (conftest.steady_window).
pytestmark = pytest.mark.usefixtures("steady_window")


@pytest.fixture
def limited(make_app):
    return make_app(RATELIMIT_ENABLED=True)


def test_eleventh_login_in_a_minute_is_429_with_retry_after(limited):
    client = limited.test_client()
    assert _login_statuses(client, 10) == [401] * 10
    response = client.post(LOGIN, json=ATTEMPT)
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited" and "10 per 1 minute" in error["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_counts_live_in_redis(limited, redis_conn):
    _login_statuses(limited.test_client(), 2)
    assert any(b"/rl/ip:" in key for key in redis_conn.keys("*"))


def test_trusted_proxy_hop_separates_forwarded_clients(make_app):
    client = make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXY_HOPS=1).test_client()
    first = {"X-Forwarded-For": "203.0.113.1"}
    second = {"X-Forwarded-For": "203.0.113.2"}
    assert _login_statuses(client, 10, headers=first) == [401] * 10
    assert _login_statuses(client, 10, headers=second) == [401] * 10
    assert client.post(LOGIN, json=ATTEMPT, headers=first).status_code == 429


def test_without_trusted_hops_the_header_is_ignored(limited):
    client = limited.test_client()
    statuses = [
        client.post(LOGIN, json=ATTEMPT, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]


SECOND_INSTANCE = """
import json, sys
from app import create_app
from app.config import testing_settings
app = create_app(
    testing_settings(REDIS_URL=sys.argv[1], MONGO_URL=sys.argv[2], RATELIMIT_ENABLED=True)
)
client = app.test_client()
attempt = {"email": "nobody@example.com", "password": "wrong password"}
print(json.dumps([client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(6)]))
"""


def test_two_app_instances_on_one_redis_share_a_count(limited, redis_url, mongo_url):
    client = limited.test_client()
    assert _login_statuses(client, 4) == [401] * 4
    other = subprocess.run(
        [sys.executable, "-c", SECOND_INSTANCE, redis_url, mongo_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [401] * 6
    assert client.post(LOGIN, json=ATTEMPT).status_code == 429


@pytest.fixture
def doomed_redis(tmp_path):
    """A redis-server of this test's own, to stop while the app uses it."""
    with running(RedisServer(tmp_path / "doomed-redis")) as server:
        yield server


def test_redis_down_falls_back_to_memory_not_to_no_limit(make_app, doomed_redis):
    app = make_app(RATELIMIT_ENABLED=True, REDIS_URL=doomed_redis.url)
    client = app.test_client()
    assert _login_statuses(client, 3) == [401] * 3
    doomed_redis.kill()
    # Requests keep being answered; the in-memory fallback counts from here on.
    assert _login_statuses(client, 10) == [401] * 10
    assert client.post(LOGIN, json=ATTEMPT).status_code == 429


def test_redis_unreachable_from_the_start(make_app):
    client = make_app(
        RATELIMIT_ENABLED=True, REDIS_URL="unix:///nonexistent/redis.sock"
    ).test_client()
    assert _login_statuses(client, 11) == [401] * 10 + [429]


def test_default_limit_is_per_method_and_route(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATE_LIMIT_PER_MINUTE=3)
    make_user(app)
    client = app.test_client()
    token = login(client)["access_token"]
    statuses = [client.get("/api/v1/users/me", headers=bearer(token)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    patch = client.patch("/api/v1/users/me", headers=bearer(token), json={"name": "Ada L"})
    assert patch.status_code == 200
    assert client.get("/api/v1/goals", headers=bearer(token)).status_code == 200


def test_health_docs_preflight_and_non_api_routes_are_exempt(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATE_LIMIT_PER_MINUTE=2,
        RQ_DASHBOARD_USERNAME="ops",
        RQ_DASHBOARD_PASSWORD="pw",
    )
    client = app.test_client()
    for path in ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs", "/admin/rq/"):
        statuses = {client.get(path).status_code for _ in range(5)}
        assert 429 not in statuses, path
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
    }
    statuses = {client.options(LOGIN, headers=preflight).status_code for _ in range(12)}
    assert 429 not in statuses


def test_chat_key_follows_the_user_across_ips(make_app):
    app = make_app(RATELIMIT_ENABLED=True)

    @app.route("/api/v1/probe-chat")
    @limiter.limit("3/minute", key_func=user_or_ip)
    @jwt_required()
    def probe_chat():
        return {"ok": True}

    make_user(app)
    make_user(app, email="bob@example.com")
    client = app.test_client()
    ada = login(client)["access_token"]
    bob = login(client, email="bob@example.com")["access_token"]

    def call(token, ip):
        return client.get(
            "/api/v1/probe-chat", headers=bearer(token), environ_base={"REMOTE_ADDR": ip}
        ).status_code

    assert [call(ada, "198.51.100.1"), call(ada, "198.51.100.2"), call(ada, "198.51.100.1")] == [
        200
    ] * 3
    assert call(ada, "198.51.100.3") == 429
    assert call(bob, "198.51.100.1") == 200


class Monitor:
    """Redis MONITOR in a thread: the commands clients sent (not those scripts ran)."""

    def __init__(self, url: str):
        self.connection = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        with self.connection.monitor() as monitor:
            self._ready.set()
            for command in monitor.listen():
                if command["command"].startswith("ECHO gg-monitor-end"):
                    return
                if command.get("client_type") != "lua":
                    self.commands.append(command["command"].split()[0].upper())

    def __enter__(self):
        self._thread.start()
        self._ready.wait(5)
        time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        self.connection.echo("gg-monitor-end")
        self._thread.join(5)


def test_a_limited_request_costs_one_redis_round_trip(make_app, redis_url):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    client.get("/api/v1/users/me")  # the script is loaded once per process
    with Monitor(redis_url) as seen:
        response = client.get("/api/v1/users/me")
    assert seen.commands == ["EVALSHA"]
    # The headers come from that one answer; Retry-After only on a 429.
    assert response.status_code == 401
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "58"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("limits_on", [False, True])
def test_a_signed_in_chat_request_adds_only_the_limiters_script(make_app, redis_url, limits_on):
    # The chat limit keys on the user, so the limiter verifies the token and the view reuses
    # that: the blocklist is asked once, and the limiter adds its one script.
    app = make_app(RATELIMIT_ENABLED=limits_on)
    make_user(app)
    client = app.test_client()
    token = login(client)["access_token"]
    client.get("/api/v1/chat/history", headers=bearer(token))
    with Monitor(redis_url) as seen:
        response = client.get("/api/v1/chat/history", headers=bearer(token))
    assert response.status_code == 200
    assert sorted(seen.commands) == (["EVALSHA", "EXISTS"] if limits_on else ["EXISTS"])


def test_a_signed_in_chat_request_decodes_its_token_once(make_app, monkeypatch):
    import flask_jwt_extended.view_decorators as views

    decoded = []
    decode = views.decode_token
    monkeypatch.setattr(
        views, "decode_token", lambda *a, **kw: decoded.append(1) or decode(*a, **kw)
    )
    app = make_app(RATELIMIT_ENABLED=True)
    make_user(app)
    client = app.test_client()
    token = login(client)["access_token"]
    assert client.get("/api/v1/chat/history", headers=bearer(token)).status_code == 200
    assert len(decoded) == 1


@pytest.mark.parametrize(
    "headers, code",
    [({}, "token_missing"), ({"Authorization": "Bearer nonsense"}, "token_invalid")],
)
def test_the_chat_limiter_leaves_a_missing_or_bad_token_to_the_view(make_app, headers, code):
    app = make_app(RATELIMIT_ENABLED=True)
    response = app.test_client().get("/api/v1/chat/history", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code


def test_a_refresh_token_does_not_open_the_chat(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    make_user(app)
    client = app.test_client()
    refresh = login(client)["refresh_token"]
    response = client.get("/api/v1/chat/history", headers=bearer(refresh))
    assert response.status_code == 401
