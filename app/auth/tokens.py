"""Tokens: access 15 min and refresh 30 days (flask-jwt-extended), refresh tokens rotated with
reuse detection in MongoDB, access tokens revoked in Redis, `token_version` ending every older
token at once.

MongoDB `refresh_tokens`: {jti, family, user_id, expires_at (TTL), created_at, used_at?}. A
refresh token is good while its row exists without `used_at`. Rotation sets `used_at`
atomically; presenting a token whose row is used (or gone) marks the whole family used.
Redis: `auth:revoked:<jti>` for revoked access tokens, expiring with the token itself.
Claims: `tv` (the user's token_version at issue), `fam` on refresh tokens.
"""

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import redis
from bson import ObjectId
from flask import Flask, g
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import WrongTokenError
from pymongo.errors import PyMongoError

from app import clock
from app.db import get_db
from app.errors import APIError, ServiceUnavailable, error_response
from app.extensions import jwt
from app.log import bind_user
from app.redis import get_redis

log = logging.getLogger(__name__)

ACCESS_EXPIRES = timedelta(minutes=15)
REFRESH_EXPIRES = timedelta(days=30)
REVOKED_KEY = "auth:revoked:{jti}"


class TokenRevoked(APIError):
    status, code, message = 401, "token_revoked", "This token has been revoked."


def token_pair(user: dict, *, fresh: bool | timedelta = False, family: str | None = None) -> dict:
    """A new access + refresh pair for `user`; the refresh token is recorded in MongoDB."""
    identity = str(user["_id"])
    claims = {"tv": user.get("token_version", 0)}
    family = family or uuid.uuid4().hex
    access = create_access_token(identity=identity, additional_claims=claims, fresh=fresh)
    refresh = create_refresh_token(identity=identity, additional_claims={**claims, "fam": family})
    decoded = decode_token(refresh)
    get_db().refresh_tokens.insert_one(
        {
            "jti": decoded["jti"],
            "family": family,
            "user_id": user["_id"],
            "created_at": clock.now(),
            "expires_at": datetime.fromtimestamp(decoded["exp"], UTC),
        }
    )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_EXPIRES.total_seconds()),
    }


def rotate(payload: dict, user: dict) -> dict:
    """Consume the presented refresh token and return a new pair of its family; a token that
    was already consumed revokes its whole family (reuse detection, no grace window)."""
    tokens = get_db().refresh_tokens
    now = clock.now()
    try:
        consumed = tokens.find_one_and_update(
            {"jti": payload["jti"], "used_at": {"$exists": False}}, {"$set": {"used_at": now}}
        )
        if consumed is None:
            revoke_family(payload.get("fam"))
            raise TokenRevoked("This refresh token was already used; its session is revoked.")
    except PyMongoError as exc:  # refresh fails closed
        raise ServiceUnavailable("Sessions cannot be checked right now.") from exc
    return token_pair(user, family=payload["fam"])


def revoke_family(family: str | None) -> None:
    """Mark every unused refresh token of `family` used."""
    if family:
        get_db().refresh_tokens.update_many(
            {"family": family, "used_at": {"$exists": False}}, {"$set": {"used_at": clock.now()}}
        )


def revoke_refresh(payload: dict) -> None:
    """Revoke one refresh token (logout)."""
    get_db().refresh_tokens.update_one(
        {"jti": payload["jti"], "used_at": {"$exists": False}}, {"$set": {"used_at": clock.now()}}
    )


def revoke_all_refresh(user_id: ObjectId) -> None:
    """Revoke every refresh token of a user."""
    get_db().refresh_tokens.update_many(
        {"user_id": user_id, "used_at": {"$exists": False}}, {"$set": {"used_at": clock.now()}}
    )


def revoke_access(payload: dict) -> None:
    """Put an access token on the Redis blocklist until it would expire anyway."""
    # Token expiry is wall-clock time (PyJWT), not app.clock's simulated time.
    ttl = int(payload["exp"] - time.time()) + 1
    if ttl <= 0:
        return
    try:
        get_redis().set(REVOKED_KEY.format(jti=payload["jti"]), 1, ex=ttl)
    except redis.RedisError as exc:
        raise ServiceUnavailable("Logout cannot be recorded right now; try again.") from exc


def decode_refresh(token: str) -> dict | None:
    """The payload of a refresh token string, or None when it is not a valid one."""
    try:
        payload = decode_token(token)
    except Exception:  # any undecodable token is simply not a refresh token
        return None
    return payload if payload.get("type") == "refresh" else None


def load_user(identity: str) -> dict | None:
    """The user a token names (cached for the request)."""
    cache = g.setdefault("_token_users", {})
    if identity not in cache:
        try:
            user_id = ObjectId(identity)
        except Exception:
            return None
        cache[identity] = get_db().users.find_one({"_id": user_id})
    return cache[identity]


@jwt.user_lookup_loader
def _lookup_user(_header, payload):
    # Runs once a token's signature and claims are verified: from here the user is known.
    bind_user(payload["sub"])
    return load_user(payload["sub"])


@jwt.token_in_blocklist_loader
def _is_revoked(_header, payload) -> bool:
    user = load_user(payload["sub"])
    if user is None or payload.get("tv") != user.get("token_version", 0):
        return True
    if payload.get("type") != "access":
        return False  # refresh tokens are checked, and reuse detected, by rotate()
    try:
        return bool(get_redis().exists(REVOKED_KEY.format(jti=payload["jti"])))
    except redis.RedisError as exc:
        # Access checks tolerate a Redis outage: token_version and the 15-minute expiry hold.
        log.warning("access-token blocklist unavailable, allowing: %s", exc)
        return False


def _answer(code: str, message: str):
    return lambda *_args: error_response(code, message, 401)


# flask-jwt-extended answers its failures through these loaders: each gets its own code.
jwt.unauthorized_loader(_answer("token_missing", "A bearer token is required."))
jwt.invalid_token_loader(_answer("token_invalid", "The token is not valid."))
jwt.expired_token_loader(_answer("token_expired", "The token has expired."))
jwt.revoked_token_loader(_answer("token_revoked", "This token has been revoked."))
jwt.user_lookup_error_loader(_answer("token_revoked", "This token has been revoked."))
jwt.needs_fresh_token_loader(_answer("fresh_token_required", "Sign in again to do this."))
jwt.token_verification_failed_loader(_answer("token_invalid", "The token is not valid."))


def register_jwt(app: Flask) -> None:
    """Bind flask-jwt-extended (header tokens, HS256, string identities) to our error shape."""
    app.config.update(
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_ACCESS_TOKEN_EXPIRES=ACCESS_EXPIRES,
        JWT_REFRESH_TOKEN_EXPIRES=REFRESH_EXPIRES,
        JWT_DECODE_LEEWAY=10,
    )
    jwt.init_app(app)
    # flask-jwt-extended sends a wrong token type to the invalid-token loader; it has its own
    # code here. Registered after init_app, so it replaces that handler.
    app.register_error_handler(
        WrongTokenError,
        _answer("token_wrong_type", "This endpoint needs the other kind of token."),
    )
