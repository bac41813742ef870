"""The profile, account deletion, email verification and admins."""

import pytest
from flask_jwt_extended import jwt_required

from app.auth import service as auth_service
from app.auth.decorators import admin_required
from app.db import get_db
from tests.accounts import PASSWORD, bearer, login, make_user


@pytest.fixture
def ada(app, client):
    user = make_user(app)
    return user, bearer(login(client)["access_token"])


def test_me_has_the_representation(client, ada):
    user, headers = ada
    body = client.get("/api/v1/users/me", headers=headers).get_json()
    assert body == {
        "id": str(user["_id"]),
        "email": "ada@example.com",
        "email_verified": False,
        "name": "Ada",
        "phase": "goal_setting",
        "email_notifications": True,
        "timezone": "UTC",
        "meeting_interval_days": 7,
        "meeting_duration_minutes": 30,
        "is_admin": False,
        "created_at": body["created_at"],
    }
    assert body["created_at"].endswith("Z")


def test_patch_profile(client, ada):
    _, headers = ada
    changes = {
        "name": "  Ada Lovelace ",
        "email_notifications": False,
        "timezone": "Europe/Berlin",
        "meeting_interval_days": 14,
        "meeting_duration_minutes": 45,
    }
    body = client.patch("/api/v1/users/me", headers=headers, json=changes).get_json()
    assert body["name"] == "Ada Lovelace"
    assert (body["timezone"], body["meeting_interval_days"]) == ("Europe/Berlin", 14)
    assert body["email_notifications"] is False and body["meeting_duration_minutes"] == 45


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "Mars/Olympus"},
        {"timezone": "europe/berlin"},
        {"timezone": 3},
        {"meeting_interval_days": 0},
        {"meeting_interval_days": 31},
        {"meeting_interval_days": "7"},
        {"meeting_duration_minutes": 14},
        {"meeting_duration_minutes": 121},
        {"email_notifications": "yes"},
        {"email_notifications": 0},
        {"name": ""},
        {"name": "x" * 101},
        {"email": "new@example.com"},
        {"is_admin": True},
        {"phase": "tracking"},
        {"name": {"$set": {"is_admin": True}}},
    ],
)
def test_bad_profile_changes_are_422(client, ada, body):
    response = client.patch("/api/v1/users/me", headers=ada[1], json=body)
    assert response.status_code == 422, body
    assert response.get_json()["error"]["code"] == "validation_error"


def test_delete_needs_the_password_and_removes_everything(app, client, ada):
    user, headers = ada
    client.post("/api/v1/goals", headers=headers, json={"title": "Goal"})
    wrong = client.delete("/api/v1/users/me", headers=headers, json={"password": "nope nope"})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "password_incorrect"
    assert client.delete("/api/v1/users/me", headers=headers).status_code == 403
    assert (
        client.delete("/api/v1/users/me", headers=headers, json={"password": PASSWORD}).status_code
        == 204
    )
    with app.app_context():
        db = get_db()
        assert db.users.count_documents({"_id": user["_id"]}) == 0
        assert db.goals.count_documents({"user_id": user["_id"]}) == 0
        assert db.refresh_tokens.count_documents({"user_id": user["_id"]}) == 0
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401


def test_google_only_account_needs_a_fresh_token_to_delete(app, client):
    from flask_jwt_extended import create_access_token

    user = make_user(app, password=None, google_sub="g-123", email_verified=True)
    with app.app_context():
        stale = create_access_token(str(user["_id"]), additional_claims={"tv": 0}, fresh=False)
        fresh = create_access_token(str(user["_id"]), additional_claims={"tv": 0}, fresh=True)
    refused = client.delete("/api/v1/users/me", headers=bearer(stale))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "fresh_token_required"
    assert client.delete("/api/v1/users/me", headers=bearer(fresh)).status_code == 204


def _verify_link(app, user) -> str:
    with app.app_context():
        url = auth_service.verify_url(user)
    return url.removeprefix(app.config["API_BASE_URL"])


def test_verify_email_link_marks_verified_and_renders_html(app, client, ada):
    user, headers = ada
    response = client.get(_verify_link(app, user))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Email verified" in response.get_data(as_text=True)
    assert client.get("/api/v1/users/me", headers=headers).get_json()["email_verified"] is True


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_bad_verify_token_is_a_400_page(client, token):
    response = client.get("/api/v1/auth/verify-email", query_string={"token": token})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "verification_token_invalid" in response.get_data(as_text=True)


def test_verify_link_for_an_old_email_is_refused(app, client, ada):
    user, _ = ada
    link = _verify_link(app, user)
    with app.app_context():
        get_db().users.update_one({"_id": user["_id"]}, {"$set": {"email": "new@example.com"}})
    assert client.get(link).status_code == 400


def test_admin_emails_need_verification(make_app):
    app = make_app(ADMIN_EMAILS=["ada@example.com"])
    client = app.test_client()
    user = make_user(app)
    headers = bearer(login(client)["access_token"])
    assert client.get("/api/v1/users/me", headers=headers).get_json()["is_admin"] is False
    client.get(_verify_link(app, user))
    assert client.get("/api/v1/users/me", headers=headers).get_json()["is_admin"] is True


def test_admin_required_decorator(make_app):
    app = make_app()

    @app.route("/api/v1/probe-admin")
    @jwt_required()
    @admin_required
    def probe_admin():
        return {"ok": True}

    make_user(app)
    client = app.test_client()
    headers = bearer(login(client)["access_token"])
    refused = client.get("/api/v1/probe-admin", headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_required"
    result = app.test_cli_runner().invoke(args=["users", "grant-admin", "ADA@example.com"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/probe-admin", headers=headers).status_code == 200
    missing = app.test_cli_runner().invoke(args=["users", "grant-admin", "nobody@example.com"])
    assert missing.exit_code != 0 and "No user" in missing.output
