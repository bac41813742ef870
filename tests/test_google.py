"""Google sign-in against a local fake provider (real Authlib and PyJWT)."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from app.db import get_db
from tests.accounts import PASSWORD, bearer, make_user
from tests.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle, new_key


@pytest.fixture
def google():
    fake = FakeGoogle()
    yield fake
    fake.close()


@pytest.fixture
def gapp(make_app, google):
    return make_app(
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_DISCOVERY_URL=google.discovery_url,
        FRONTEND_URL="https://app.example",
    )


def _post_token(client, token):
    return client.post("/api/v1/auth/google", json={"id_token": token})


def test_valid_token_signs_in_a_new_user_then_the_same_user(gapp, google):
    client = gapp.test_client()
    first = _post_token(client, google.id_token())
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["created"] is True
    assert body["user"]["email"] == "ada@example.com" and body["user"]["email_verified"] is True
    assert client.get("/api/v1/users/me", headers=bearer(body["access_token"])).status_code == 200
    again = _post_token(client, google.id_token()).get_json()
    assert again["created"] is False and again["user"]["id"] == body["user"]["id"]


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else.apps.googleusercontent.com"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720},
        {"email_verified": False},
        {"email_verified": None},
        {"sub": None},
    ],
)
def test_invalid_claims_are_401(gapp, google, claims):
    response = _post_token(gapp.test_client(), google.id_token(**claims))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "google_token_invalid"


def test_bad_signature_and_garbage_are_401(gapp, google):
    client = gapp.test_client()
    for token in (google.id_token(key=new_key()), "not-a-token", google.id_token(kid="unknown")):
        response = _post_token(client, token)
        assert response.status_code == 401, token
        assert response.get_json()["error"]["code"] == "google_token_invalid"


def test_small_clock_skew_is_tolerated(gapp, google):
    token = google.id_token(iat=int(time.time()) + 5)
    assert _post_token(gapp.test_client(), token).status_code == 200


def test_jwks_is_fetched_once_for_ten_verifications(gapp, google):
    client = gapp.test_client()
    for n in range(10):
        token = google.id_token(sub=f"sub-{n}", email=f"user{n}@example.com")
        assert _post_token(client, token).status_code == 200
    assert len(google.requests_to("/certs")) == 1
    assert len(google.requests_to("/.well-known/openid-configuration")) == 1


def _start(client) -> dict:
    response = client.get("/api/v1/auth/google")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/o/oauth2/v2/auth"
    assert params["client_id"] == CLIENT_ID and params["code_challenge_method"] == "S256"
    assert params["redirect_uri"].endswith("/api/v1/auth/google/callback")
    return params


def _fragment(response) -> dict:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == "https://app.example"
    return {k: v[0] for k, v in parse_qs(location.fragment).items()}


def test_code_flow_end_to_end(gapp, google):
    client = gapp.test_client()
    params = _start(client)
    code = google.consent(params["code_challenge"], params["nonce"])
    done = client.get(
        "/api/v1/auth/google/callback", query_string={"state": params["state"], "code": code}
    )
    fragment = _fragment(done)
    assert fragment["token_type"] == "Bearer"
    me = client.get("/api/v1/users/me", headers=bearer(fragment["access_token"]))
    assert me.status_code == 200 and me.get_json()["email"] == "ada@example.com"
    token_request = google.requests_to("/token")[0]
    form = parse_qs(token_request.body.decode())
    assert form["code_verifier"][0] and form["code"] == [code]


def test_state_is_single_use_and_must_exist(gapp, google):
    client = gapp.test_client()
    params = _start(client)
    code = google.consent(params["code_challenge"], params["nonce"])
    query = {"state": params["state"], "code": code}
    assert "access_token" in _fragment(
        client.get("/api/v1/auth/google/callback", query_string=query)
    )
    reused = _fragment(client.get("/api/v1/auth/google/callback", query_string=query))
    assert reused == {"error": "oauth_state_invalid"}
    unknown = client.get("/api/v1/auth/google/callback", query_string={"state": "x", "code": code})
    assert _fragment(unknown) == {"error": "oauth_state_invalid"}
    missing = client.get("/api/v1/auth/google/callback", query_string={"code": code})
    assert _fragment(missing) == {"error": "oauth_state_invalid"}


def test_wrong_verifier_or_nonce_fails_the_flow(gapp, google):
    client = gapp.test_client()
    params = _start(client)
    code = google.consent("not-the-challenge", params["nonce"])
    query = {"state": params["state"], "code": code}
    refused = client.get("/api/v1/auth/google/callback", query_string=query)
    assert _fragment(refused) == {"error": "google_token_invalid"}
    params = _start(client)
    code = google.consent(params["code_challenge"], "another-nonce")
    query = {"state": params["state"], "code": code}
    refused = client.get("/api/v1/auth/google/callback", query_string=query)
    assert _fragment(refused) == {"error": "google_token_invalid"}


def test_consent_refused_by_the_user(gapp, google):
    client = gapp.test_client()
    params = _start(client)
    query = {"state": params["state"], "error": "access_denied"}
    refused = client.get("/api/v1/auth/google/callback", query_string=query)
    assert _fragment(refused) == {"error": "google_token_invalid"}


def test_redirect_uri_is_https_behind_the_proxy(make_app, google):
    app = make_app(
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_DISCOVERY_URL=google.discovery_url,
        TRUSTED_PROXY_HOPS=1,
    )
    response = app.test_client().get(
        "/api/v1/auth/google",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.goalgetter.example"},
    )
    redirect_uri = parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == "https://api.goalgetter.example/api/v1/auth/google/callback"


def test_linking_to_an_unverified_password_account_removes_the_password(gapp, google):
    user = make_user(gapp)
    client = gapp.test_client()
    body = _post_token(client, google.id_token()).get_json()
    assert body["created"] is False and body["user"]["id"] == str(user["_id"])
    with gapp.app_context():
        stored = get_db().users.find_one({"_id": user["_id"]})
    assert "password_hash" not in stored and stored["google_sub"] == "google-sub-1"
    assert stored["email_verified"] is True
    login = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401


def test_linking_to_a_verified_account_keeps_the_password(gapp, google):
    user = make_user(gapp, email_verified=True)
    client = gapp.test_client()
    body = _post_token(client, google.id_token()).get_json()
    assert body["user"]["id"] == str(user["_id"])
    login = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_not_configured_is_503(app):
    client = app.test_client()
    for response in (client.get("/api/v1/auth/google"), _post_token(client, "x")):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "google_not_configured"
