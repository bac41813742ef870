"""Account flows: signup, verification, login, refresh, logout, passwords."""

import secrets
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired

from app import links
from app.auth import tokens
from app.db import get_db
from app.email.send import send_password_reset, send_verification, send_welcome
from app.errors import APIError
from app.ids import parse_id
from app.passwords import PasswordIncorrect, hash_password, verify_password
from app.users import service as users

VERIFY_MAX_AGE = timedelta(days=7)
RESET_MAX_AGE = timedelta(hours=1)


class InvalidCredentials(APIError):
    status, code, message = 401, "invalid_credentials", "The email or password is wrong."


class VerificationTokenInvalid(APIError):
    status, code = 400, "verification_token_invalid"
    message = "This verification link is invalid or has expired."


class ResetTokenInvalid(APIError):
    status, code = 400, "reset_token_invalid"
    message = "This password reset link is invalid, expired or already used."


def verify_url(user: dict) -> str:
    """The signed email-verification link (7 days) for the user's current email."""
    return links.verify_email_url(links.verify_email_token(user["_id"], user["email"]))


def signup(email: str, password: str, name: str, timezone: str | None) -> tuple[dict, dict]:
    """Create a password account and queue its welcome email; returns (user, tokens)."""
    user = users.create_user(email, name, password_hash=hash_password(password), timezone=timezone)
    send_welcome(user["_id"], verify_url(user))
    return user, tokens.token_pair(user, fresh=True)


def resend_verification(user: dict) -> None:
    """Queue a new verification link, unless the email is verified already."""
    if user.get("email_verified"):
        return
    send_verification(user["_id"], verify_url(user), nonce=secrets.token_urlsafe(8))


def login(email: str, password: str) -> tuple[dict, dict]:
    """Check credentials (unknown email and wrong password alike); returns (user, tokens)."""
    user = users.find_by_email(email)
    if not verify_password(user.get("password_hash") if user else None, password):
        raise InvalidCredentials()
    return user, tokens.token_pair(user, fresh=True)


def verify_email(token: str) -> dict:
    """Mark the email in a verification link verified; returns the user."""
    try:
        data = links.serializer(links.VERIFY_EMAIL).loads(
            token, max_age=int(VERIFY_MAX_AGE.total_seconds())
        )
        user_id = parse_id(data["uid"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, APIError):
        raise VerificationTokenInvalid() from None
    user = users.mark_verified(user_id, data.get("email"))
    if user is None:  # deleted, or the email changed since the link was sent
        raise VerificationTokenInvalid()
    return user


def change_password(user: dict, current: str, new: str) -> dict:
    """Change the password, end every other session, return a fresh pair for this one."""
    if not verify_password(user.get("password_hash"), current):
        raise PasswordIncorrect()
    updated = users.bump_token_version(user["_id"], {"password_hash": hash_password(new)})
    tokens.revoke_all_refresh(user["_id"])
    return tokens.token_pair(updated, fresh=True)


def request_password_reset(email: str) -> None:
    """For an existing account, email a single-use reset link (1 hour); silent otherwise."""
    user = users.find_by_email(email)
    if user is None:
        return
    token_id = links.new_link_id()
    # Only the newest link works: the id it carries must match the one stored.
    users.update_profile(user["_id"], {"reset_token_id": token_id})
    token = links.reset_password_token(user["_id"], token_id)
    send_password_reset(user["_id"], links.reset_password_url(token), token_id)


def confirm_password_reset(token: str, new_password: str) -> None:
    """Set a new password from a reset link (once) and revoke every session."""
    try:
        data = links.serializer(links.PASSWORD_RESET).loads(
            token, max_age=int(RESET_MAX_AGE.total_seconds())
        )
        user_id = parse_id(data["uid"])
        token_id = str(data["tid"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, APIError):
        raise ResetTokenInvalid() from None
    user = get_db().users.find_one_and_update(
        {"_id": user_id, "reset_token_id": token_id},
        {
            "$set": {"password_hash": hash_password(new_password)},
            "$unset": {"reset_token_id": ""},
            "$inc": {"token_version": 1},
        },
    )
    if user is None:
        raise ResetTokenInvalid()
    tokens.revoke_all_refresh(user_id)


def logout(payload: dict, user: dict, refresh_token: str | None, everywhere: bool) -> None:
    """Revoke the presented token, the refresh token in the body, or every session."""
    if payload["type"] == "access":
        tokens.revoke_access(payload)
    else:
        tokens.revoke_refresh(payload)
    if refresh_token:
        other = tokens.decode_refresh(refresh_token)
        if other is not None and other["sub"] == payload["sub"]:
            tokens.revoke_refresh(other)
    if everywhere:
        users.bump_token_version(user["_id"])
        tokens.revoke_all_refresh(user["_id"])
