"""Login, refresh rotation with reuse detection, logout, revocation, password change."""

import pytest

from app.auth import tokens
from tests.accounts import PASSWORD, bearer, login, make_user, me_status, refresh_status


@pytest.fixture
def ada(app):
    return make_user(app)


def test_login_returns_user_and_pair(client, ada):
    body = login(client)
    assert body["user"]["email"] == "ada@example.com"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    me = client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == str(ada["_id"])


def test_unknown_email_and_wrong_password_answer_alike(client, ada):
    attempt = {"password": "x" * 9}
    wrong = client.post("/api/v1/auth/login", json={**attempt, "email": "ada@example.com"})
    unknown = client.post("/api/v1/auth/login", json={**attempt, "email": "bob@example.com"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_login_is_case_insensitive_on_email(client, ada):
    assert login(client, email="  ADA@Example.COM ")["user"]["email"] == "ada@example.com"


def test_refresh_rotates_and_reuse_revokes_the_family(client, ada):
    first = login(client)
    second = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    # The old one again: reuse. 401, and the newer one of the same family dies too.
    reused = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert reused.status_code == 401
    assert reused.get_json()["error"]["code"] == "token_revoked"
    newer = client.post("/api/v1/auth/refresh", headers=bearer(second["refresh_token"]))
    assert newer.status_code == 401
    # Another session (another family) is untouched.
    other = login(client)
    assert refresh_status(client, other["refresh_token"]) == 200


def test_refresh_tokens_survive_and_stay_revoked_after_flushall(client, ada, redis_conn):
    used = login(client)
    fresh = client.post("/api/v1/auth/refresh", headers=bearer(used["refresh_token"])).get_json()
    redis_conn.flushall()
    assert refresh_status(client, used["refresh_token"]) == 401
    # ...and that reuse killed the family, so the newer token is refused too.
    assert refresh_status(client, fresh["refresh_token"]) == 401
    live = login(client)
    redis_conn.flushall()
    assert refresh_status(client, live["refresh_token"]) == 200


def test_access_token_is_not_a_refresh_token_and_vice_versa(client, ada):
    pair = login(client)
    wrong = client.post("/api/v1/auth/refresh", headers=bearer(pair["access_token"]))
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "token_wrong_type"
    other = client.get("/api/v1/users/me", headers=bearer(pair["refresh_token"]))
    assert other.status_code == 401 and other.get_json()["error"]["code"] == "token_wrong_type"


def test_logout_revokes_access_and_body_refresh(client, ada):
    pair = login(client)
    out = client.post(
        "/api/v1/auth/logout",
        headers=bearer(pair["access_token"]),
        json={"refresh_token": pair["refresh_token"]},
    )
    assert out.status_code == 204
    refused = client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "token_revoked"
    assert refresh_status(client, pair["refresh_token"]) == 401


def test_logout_with_the_refresh_token_itself(client, ada):
    pair = login(client)
    out = client.post("/api/v1/auth/logout", headers=bearer(pair["refresh_token"]))
    assert out.status_code == 204
    assert refresh_status(client, pair["refresh_token"]) == 401
    assert me_status(client, pair["access_token"]) == 200


def test_logout_everywhere_ends_every_session(client, ada):
    one, two = login(client), login(client)
    response = client.post(
        "/api/v1/auth/logout", headers=bearer(one["access_token"]), json={"everywhere": True}
    )
    assert response.status_code == 204
    for pair in (one, two):
        assert me_status(client, pair["access_token"]) == 401
        assert refresh_status(client, pair["refresh_token"]) == 401


def test_access_revocation_expires_with_the_token(app, client, ada, redis_conn):
    pair = login(client)
    client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    with app.app_context():
        from flask_jwt_extended import decode_token

        jti = decode_token(pair["access_token"], allow_expired=True)["jti"]
    ttl = redis_conn.ttl(tokens.REVOKED_KEY.format(jti=jti))
    assert 0 < ttl <= 15 * 60 + 1


def test_access_checks_survive_a_redis_outage(make_app, ada):
    app = make_app(REDIS_URL="unix:///nonexistent/redis.sock")
    client = app.test_client()
    pair = login(client)
    assert me_status(client, pair["access_token"]) == 200


def test_password_change_returns_working_pair_and_ends_other_sessions(client, ada):
    old = login(client)
    other = login(client)
    wrong = client.post(
        "/api/v1/auth/password",
        headers=bearer(old["access_token"]),
        json={"current_password": "not it at all", "new_password": "a brand new secret"},
    )
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "password_incorrect"
    changed = client.post(
        "/api/v1/auth/password",
        headers=bearer(old["access_token"]),
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert changed.status_code == 200
    pair = changed.get_json()
    assert me_status(client, pair["access_token"]) == 200
    assert refresh_status(client, pair["refresh_token"]) == 200
    for stale in (old, other):
        assert me_status(client, stale["access_token"]) == 401
        assert refresh_status(client, stale["refresh_token"]) == 401
    assert login(client, password="a brand new secret")


def test_missing_malformed_and_expired_tokens(app, client, ada):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    missing = client.get("/api/v1/users/me")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "token_missing"
    garbage = client.get("/api/v1/users/me", headers=bearer("not.a.jwt"))
    assert garbage.status_code == 401 and garbage.get_json()["error"]["code"] == "token_invalid"
    with app.app_context():
        expired = create_access_token(
            str(ada["_id"]), additional_claims={"tv": 0}, expires_delta=timedelta(seconds=-60)
        )
    response = client.get("/api/v1/users/me", headers=bearer(expired))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_expired"
    pair = login(client)
    head, payload, signature = pair["access_token"].split(".")
    tampered = ".".join((head, payload, signature[::-1]))
    response = client.get("/api/v1/users/me", headers=bearer(tampered))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_invalid"
