"""The account flows end to end through the real email path (fake SendGrid, burst worker)."""

import re
from urllib.parse import urlsplit

import pytest

from tests.accounts import bearer, me_status, refresh_status

SIGNUP = {"email": "Ada@Example.com", "password": "a long enough secret", "name": "Ada"}


def _text_of(body: dict) -> str:
    parts = {part["type"]: part["value"] for part in body["content"]}
    return parts["text/plain"]


def _link(text: str, prefix: str) -> str:
    match = re.search(re.escape(prefix) + r"\S+", text)
    assert match, text
    return match.group(0)


@pytest.fixture
def client(email_app):
    return email_app.test_client()


def test_signup_welcome_verify_login_refresh_logout(
    email_app, client, fake_sendgrid, run_worker, redis_conn
):
    response = client.post("/api/v1/auth/signup", json=SIGNUP)
    assert response.status_code == 201
    signup = response.get_json()
    assert signup["user"]["email"] == "ada@example.com" and not signup["user"]["email_verified"]
    assert client.post("/api/v1/auth/signup", json=SIGNUP).get_json()["error"]["code"] == (
        "email_taken"
    )

    run_worker(email_app)
    welcome = [b for b in fake_sendgrid.bodies if b["categories"] == ["welcome"]]
    assert len(welcome) == 1
    assert welcome[0]["personalizations"][0]["to"][0]["email"] == "ada@example.com"
    link = _link(_text_of(welcome[0]), "https://api.goalgetter.example/api/v1/auth/verify-email?")
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status_code == 200 and "Email verified" in page.get_data(as_text=True)
    assert client.get("/api/v1/users/me", headers=bearer(signup["access_token"])).get_json()[
        "email_verified"
    ]

    login = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": SIGNUP["password"]}
    ).get_json()
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(login["refresh_token"]))
    assert rotated.status_code == 200
    rotated = rotated.get_json()
    assert refresh_status(client, login["refresh_token"]) == 401
    assert refresh_status(client, rotated["refresh_token"]) == 401  # the family is revoked

    session = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": SIGNUP["password"]}
    ).get_json()
    out = client.post(
        "/api/v1/auth/logout",
        headers=bearer(session["access_token"]),
        json={"refresh_token": session["refresh_token"]},
    )
    assert out.status_code == 204
    assert me_status(client, session["access_token"]) == 401
    redis_conn.flushall()
    for dead in (login, rotated, session):
        assert refresh_status(client, dead["refresh_token"]) == 401


def test_password_reset_link_works_once(email_app, client, fake_sendgrid, run_worker):
    signup = client.post("/api/v1/auth/signup", json=SIGNUP).get_json()
    assert (
        client.post("/api/v1/auth/password-reset", json={"email": "ADA@example.com"}).status_code
        == 202
    )
    assert (
        client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"}).status_code
        == 202
    )
    run_worker(email_app)
    resets = [b for b in fake_sendgrid.bodies if b["categories"] == ["password_reset"]]
    assert len(resets) == 1
    assert resets[0]["personalizations"][0]["to"][0]["email"] == "ada@example.com"
    link = _link(_text_of(resets[0]), "https://app.goalgetter.example/reset-password?token=")
    token = link.split("token=", 1)[1]

    confirm = {"token": token, "new_password": "a brand new secret"}
    assert client.post("/api/v1/auth/password-reset/confirm", json=confirm).status_code == 204
    again = client.post("/api/v1/auth/password-reset/confirm", json=confirm)
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "reset_token_invalid"
    assert me_status(client, signup["access_token"]) == 401
    assert refresh_status(client, signup["refresh_token"]) == 401
    login = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "a brand new secret"}
    )
    assert login.status_code == 200


def test_only_the_newest_reset_link_works(email_app, client, fake_sendgrid, run_worker):
    client.post("/api/v1/auth/signup", json=SIGNUP)
    for _ in range(2):
        client.post("/api/v1/auth/password-reset", json={"email": "ada@example.com"})
    run_worker(email_app)
    links = [
        _link(_text_of(b), "https://app.goalgetter.example/reset-password?token=")
        for b in fake_sendgrid.bodies
        if b["categories"] == ["password_reset"]
    ]
    assert len(links) == 2
    old, new = (link.split("token=", 1)[1] for link in links)
    body = {"new_password": "a brand new secret"}
    assert (
        client.post("/api/v1/auth/password-reset/confirm", json={**body, "token": old}).status_code
        == 400
    )
    assert (
        client.post("/api/v1/auth/password-reset/confirm", json={**body, "token": new}).status_code
        == 204
    )


def test_resend_verification_sends_a_new_link_until_verified(
    email_app, client, fake_sendgrid, run_worker
):
    signup = client.post("/api/v1/auth/signup", json=SIGNUP).get_json()
    headers = bearer(signup["access_token"])
    assert client.post("/api/v1/auth/verify-email/resend", headers=headers).status_code == 202
    run_worker(email_app)
    welcomes = [b for b in fake_sendgrid.bodies if b["categories"] == ["welcome"]]
    assert len(welcomes) == 2
    link = _link(_text_of(welcomes[1]), "https://api.goalgetter.example/api/v1/auth/verify-email?")
    assert client.get(urlsplit(link).path + "?" + urlsplit(link).query).status_code == 200
    assert client.post("/api/v1/auth/verify-email/resend", headers=headers).status_code == 202
    run_worker(email_app)
    assert len([b for b in fake_sendgrid.bodies if b["categories"] == ["welcome"]]) == 2


def test_milestone_email_goes_out_once(email_app, client, fake_sendgrid, run_worker):
    signup = client.post("/api/v1/auth/signup", json=SIGNUP).get_json()
    headers = bearer(signup["access_token"])
    goal = client.post(
        "/api/v1/goals", headers=headers, json={"title": "Run a marathon", "milestones": ["5k"]}
    ).get_json()
    for _ in range(3):
        achieved = client.post(f"/api/v1/goals/{goal['id']}/milestones/0/achieve", headers=headers)
        assert achieved.status_code == 200
    run_worker(email_app)
    milestones = [b for b in fake_sendgrid.bodies if b["categories"] == ["goal_milestone"]]
    assert len(milestones) == 1
    assert "5k" in _text_of(milestones[0])
