"""Nothing secret reaches Sentry: the real sentry-sdk client, pointed at a local fake Sentry,
gets the events of 500s on the password, reset, login and chat routes, and none of the
passwords, hashes, tokens or chat text involved appears anywhere in what it sent."""

import gzip
import re
import time

import pytest
import sentry_sdk

from app import passwords
from app.auth.service import request_password_reset
from app.coach.offline import OfflineCoach
from app.db import get_db
from app.email import outbox
from app.sentry import sentry_options
from tests.accounts import PASSWORD, bearer, login, make_user
from tests.fake_http import FakeServer

NEW_PASSWORD = "Nobody-may-read-this-new-pass-7"
CHAT_TEXT = "My private plan: quit the job on Friday 0xC0FFEE"


class Exploded(RuntimeError):
    """The failure each route is made to hit, deep in its own code path."""


def _explode(*args, **kwargs):
    raise Exploded("a failure with the secrets on the stack")


class _Hasher:
    """argon2's hasher with one method failing (its own attributes are read-only)."""

    def __init__(self, real, failing: str):
        self._real, self._failing = real, failing

    def __getattr__(self, name):
        return _explode if name == self._failing else getattr(self._real, name)


def _sent(server: FakeServer) -> bytes:
    """Every byte the SDK sent, decompressed."""
    chunks = []
    for request in server.requests:
        body = request.body
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        chunks.append(body)
    return b"\n".join(chunks)


def _wait_for_events(server: FakeServer, count: int, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    sentry_sdk.flush()
    while _sent(server).count(b'"type":"event"') < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _sent(server)


@pytest.fixture
def fake_sentry():
    server = FakeServer()
    yield server
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off for the rest of the session
    server.close()


def _dsn(server: FakeServer) -> str:
    return f"http://publickey@{server.url.removeprefix('http://')}/1"


def _provoke(app, monkeypatch) -> list[str]:
    """500 on each of the four routes; returns the values that must never reach Sentry."""
    client = app.test_client()
    user = make_user(app)
    session = login(client)
    with app.app_context():
        password_hash = get_db().users.find_one({"_id": user["_id"]})["password_hash"]
        request_password_reset(user["email"])
        row = get_db().email_log.find_one({"type": "password_reset"})
        text = outbox.with_bodies(row)["text"]
    reset_token = re.search(r"token=([^\s&]+)", text).group(1)

    # Login: argon2's verify fails while the password and the hash are on the stack.
    with monkeypatch.context() as patch:
        patch.setattr(passwords, "_hasher", _Hasher(passwords._hasher, "verify"))
        response = client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert response.status_code == 500
    # Password change and reset: hashing the new password fails.
    with monkeypatch.context() as patch:
        patch.setattr(passwords, "_hasher", _Hasher(passwords._hasher, "hash"))
        response = client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(session["access_token"]),
        )
        assert response.status_code == 500
        response = client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": reset_token, "new_password": NEW_PASSWORD},
        )
        assert response.status_code == 500
    # Chat: the coach fails while the message is on the stack.
    with monkeypatch.context() as patch:
        patch.setattr(OfflineCoach, "reply", _explode)
        response = client.post(
            "/api/v1/chat/send",
            json={"message": CHAT_TEXT},
            headers=bearer(session["access_token"]),
        )
        assert response.status_code == 500
    return [
        PASSWORD,
        NEW_PASSWORD,
        password_hash,
        password_hash.rsplit("$", 1)[1],  # the digest alone
        session["access_token"],
        session["refresh_token"],
        reset_token,
        CHAT_TEXT,
    ]


def _leaks(sent: bytes, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret.encode() in sent]


def test_no_secret_reaches_sentry(make_app, fake_sentry, monkeypatch):
    app = make_app(SENTRY_DSN=_dsn(fake_sentry))
    secrets = _provoke(app, monkeypatch)
    sent = _wait_for_events(fake_sentry, 4)
    assert sent.count(b'"type":"event"') == 4
    assert sent.count(b'"type":"Exploded"') == 4
    assert _leaks(sent, secrets) == []


def test_the_same_events_leak_under_sentrys_defaults(make_app, fake_sentry, monkeypatch):
    # The control: without this service's options (and frame locals on, as they are by
    # default) the same provocation leaks, so the test above can fail.
    app = make_app()
    options = sentry_options(_dsn(fake_sentry), "test")
    sentry_sdk.init(dsn=options["dsn"], integrations=options["integrations"])
    secrets = _provoke(app, monkeypatch)
    sent = _wait_for_events(fake_sentry, 4)
    assert sent.count(b'"type":"event"') == 4
    leaked = _leaks(sent, secrets)
    assert {PASSWORD, NEW_PASSWORD, CHAT_TEXT} <= set(leaked), leaked


def test_the_scrubber_removes_what_an_integration_could_still_attach():
    from app.sentry import REMOVED, scrub_event

    token = "tok-in-a-query-string"
    event = {
        "request": {
            "url": f"https://api.example/api/v1/auth/verify-email?token={token}",
            "query_string": f"token={token}",
            "data": {"password": "x"},
            "cookies": {"session": "x"},
            "headers": {"Authorization": "Bearer abc", "User-Agent": "test"},
        },
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"password": "x"}}]}}]},
        "extra": {"rq-job": {"job_id": "j1", "func": "f", "args": [token], "description": token}},
        "breadcrumbs": {
            "values": [{"data": {"url": f"https://x.example/?token={token}", "http.query": token}}]
        },
    }
    scrubbed = scrub_event(event)
    assert token not in repr(scrubbed) and "password" not in repr(scrubbed)
    assert scrubbed["request"]["url"] == "https://api.example/api/v1/auth/verify-email"
    assert scrubbed["request"]["headers"] == {"Authorization": REMOVED, "User-Agent": "test"}
    assert scrubbed["extra"]["rq-job"] == {"job_id": "j1", "func": "f"}
