"""Google sign-in: the code flow with server-side state + PKCE (Authlib), ID tokens verified
against the provider's JWKS (PyJWT's cached PyJWKClient), and the account-linking rule."""

import json
import secrets
import threading
import time

import jwt
import redis
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from pymongo.errors import DuplicateKeyError

from app.auth import tokens
from app.db import get_db
from app.errors import APIError, ServiceUnavailable
from app.redis import get_redis
from app.users import service as users

STATE_TTL_S = 600
STATE_KEY = "auth:oauth-state:{state}"
DISCOVERY_TTL_S = 3600
HTTP_TIMEOUT_S = 5
CLOCK_SKEW_S = 10
SCOPES = "openid email profile"


class GoogleNotConfigured(APIError):
    status, code, message = 503, "google_not_configured", "Google sign-in is not configured."


class GoogleTokenInvalid(APIError):
    status, code, message = 401, "google_token_invalid", "The Google sign-in could not be verified."


class OAuthStateInvalid(APIError):
    status, code = 400, "oauth_state_invalid"
    message = "This sign-in attempt expired or was already used; start again."


class _Provider:
    """Discovery document and JWKS client of one issuer, cached per process."""

    def __init__(self, discovery_url: str):
        response = requests.get(discovery_url, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        self.metadata = response.json()
        self.fetched_at = time.monotonic()
        self.jwks = jwt.PyJWKClient(
            self.metadata["jwks_uri"],
            cache_keys=True,
            lifespan=DISCOVERY_TTL_S,
            timeout=HTTP_TIMEOUT_S,
        )

    @property
    def issuers(self) -> list[str]:
        # Google's ID tokens carry the issuer with or without the scheme.
        issuer = self.metadata["issuer"]
        return [issuer, issuer.removeprefix("https://")]


_providers: dict[str, _Provider] = {}
_providers_lock = threading.Lock()


def _provider() -> _Provider:
    config = current_app.config
    if not config.get("GOOGLE_CLIENT_ID"):
        raise GoogleNotConfigured()
    url = config["GOOGLE_DISCOVERY_URL"]
    with _providers_lock:
        cached = _providers.get(url)
        if cached is None or time.monotonic() - cached.fetched_at > DISCOVERY_TTL_S:
            try:
                cached = _providers[url] = _Provider(url)
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise ServiceUnavailable("Google sign-in is unreachable right now.") from exc
        return cached


def verify_id_token(id_token: str, nonce: str | None = None) -> dict:
    """The claims of a Google ID token: signature, audience, issuer, expiry, verified email."""
    provider = _provider()
    try:
        signing_key = provider.jwks.get_signing_key_from_jwt(id_token)
        claims = jwt.decode(
            id_token,
            signing_key.key,
            algorithms=["RS256"],
            audience=current_app.config["GOOGLE_CLIENT_ID"],
            issuer=provider.issuers,
            leeway=CLOCK_SKEW_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise GoogleTokenInvalid() from exc
    if claims.get("email_verified") is not True or not claims.get("email"):
        raise GoogleTokenInvalid("Google has not verified this email address.")
    if nonce is not None and claims.get("nonce") != nonce:
        raise GoogleTokenInvalid()
    return claims


def _session(redirect_uri: str) -> OAuth2Session:
    config = current_app.config
    return OAuth2Session(
        config["GOOGLE_CLIENT_ID"],
        config.get("GOOGLE_CLIENT_SECRET"),
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def authorization_url(redirect_uri: str) -> str:
    """Google's consent URL; state, PKCE verifier and nonce kept in Redis for 10 minutes."""
    provider = _provider()
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(16)
    record = {"verifier": verifier, "nonce": nonce, "redirect_uri": redirect_uri}
    try:
        get_redis().set(STATE_KEY.format(state=state), json.dumps(record), ex=STATE_TTL_S)
    except redis.RedisError as exc:
        raise ServiceUnavailable("Google sign-in cannot start right now.") from exc
    url, _ = _session(redirect_uri).create_authorization_url(
        provider.metadata["authorization_endpoint"],
        state=state,
        code_verifier=verifier,
        nonce=nonce,
    )
    return url


def _consume_state(state: str | None) -> dict:
    if not state:
        raise OAuthStateInvalid()
    try:
        raw = get_redis().getdel(STATE_KEY.format(state=state))
    except redis.RedisError as exc:
        raise ServiceUnavailable("Google sign-in cannot finish right now.") from exc
    if raw is None:
        raise OAuthStateInvalid()
    return json.loads(raw)


def finish_code_flow(state: str | None, code: str | None, error: str | None = None) -> dict:
    """Consume the state (single use), exchange the code with its verifier, verify the token."""
    record = _consume_state(state)
    if error:
        raise GoogleTokenInvalid("Google sign-in was cancelled or refused.")
    if not code:
        raise GoogleTokenInvalid("Google did not return an authorization code.")
    provider = _provider()
    try:
        token = _session(record["redirect_uri"]).fetch_token(
            provider.metadata["token_endpoint"],
            code=code,
            code_verifier=record["verifier"],
            timeout=HTTP_TIMEOUT_S,
        )
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise GoogleTokenInvalid("Google did not accept the sign-in.") from exc
    if not token.get("id_token"):
        raise GoogleTokenInvalid("Google returned no ID token.")
    return verify_id_token(token["id_token"], nonce=record["nonce"])


def _link(existing: dict, sub: str) -> dict:
    if existing.get("google_sub") and existing["google_sub"] != sub:
        raise users.EmailTaken("This email belongs to an account linked to another Google login.")
    if existing.get("email_verified"):
        return users.update_profile(existing["_id"], {"google_sub": sub})
    # An unverified password account: the Google identity (which proves the address) takes
    # it over, and whoever set the unverified password loses it and their sessions.
    get_db().users.update_one({"_id": existing["_id"]}, {"$unset": {"password_hash": ""}})
    tokens.revoke_all_refresh(existing["_id"])
    return users.bump_token_version(existing["_id"], {"google_sub": sub, "email_verified": True})


def sign_in(claims: dict) -> tuple[dict, bool]:
    """The user for verified Google claims (by `sub`, else linked by email, else new)."""
    sub = str(claims["sub"])
    for _attempt in range(2):
        user = get_db().users.find_one({"google_sub": sub})
        if user is not None:
            return user, False
        existing = users.find_by_email(claims["email"])
        if existing is not None:
            return _link(existing, sub), False
        name = (claims.get("name") or claims["email"].split("@")[0]).strip()[:100] or "Friend"
        try:
            return users.create_user(
                claims["email"], name, google_sub=sub, email_verified=True
            ), True
        except users.EmailTaken:
            continue  # a concurrent sign-in created it first: look again
        except DuplicateKeyError:
            continue
    raise ServiceUnavailable("Google sign-in raced with itself; try again.")
