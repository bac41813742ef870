"""The links the service mails out: where each points and how its token is signed, in one
place (the auth flows sign the real tokens; email previews sign look-alikes under a purpose no
route accepts, of the same length)."""

import secrets

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from app.http import API_PREFIX

VERIFY_EMAIL = "verify-email"
PASSWORD_RESET = "password-reset"
# Previews sign with this: a preview link looks real and opens nothing.
PREVIEW = "email-preview"


def serializer(purpose: str) -> URLSafeTimedSerializer:
    """The signer of link tokens for `purpose` (its salt), keyed on SECRET_KEY."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def verify_email_url(token: str) -> str:
    """The email-verification link for `token` (under API_BASE_URL)."""
    return f"{current_app.config['API_BASE_URL']}{API_PREFIX}/auth/verify-email?token={token}"


def reset_password_url(token: str) -> str:
    """The password-reset page of the frontend for `token` (under FRONTEND_URL)."""
    return f"{current_app.config['FRONTEND_URL']}/reset-password?token={token}"


def verify_email_token(user_id: str, email: str, purpose: str = VERIFY_EMAIL) -> str:
    """The signed token of a verification link: the user and the address it confirms."""
    return serializer(purpose).dumps({"uid": str(user_id), "email": email})


def reset_password_token(user_id: str, token_id: str, purpose: str = PASSWORD_RESET) -> str:
    """The signed token of a reset link: the user and the id of this one link."""
    return serializer(purpose).dumps({"uid": str(user_id), "tid": token_id})


def new_link_id() -> str:
    """A fresh id for one reset link (only the newest stored id is honoured)."""
    return secrets.token_urlsafe(12)
