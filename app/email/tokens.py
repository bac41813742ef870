"""Signed unsubscribe tokens (itsdangerous with SECRET_KEY); they do not expire, as RFC 8058
links in old mail must keep working."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.http import API_PREFIX

SALT = "goalgetter.unsubscribe"


class TokenTampered(ValueError):
    """The token was not signed by us (or was altered)."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_unsubscribe_token(user_id: str) -> str:
    """A token naming the user whose notifications it switches off."""
    return _serializer().dumps({"u": str(user_id)})


def read_unsubscribe_token(token: str) -> str:
    """The user id inside a token we signed; raises TokenTampered otherwise."""
    try:
        payload = _serializer().loads(token or "")
    except BadSignature as exc:
        raise TokenTampered("the unsubscribe token is not valid") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
        raise TokenTampered("the unsubscribe token is not valid")
    return payload["u"]


def unsubscribe_url(user_id: str) -> str:
    """The one-click unsubscribe URL for a user (List-Unsubscribe and the footer link)."""
    base = current_app.config["API_BASE_URL"]
    return f"{base}{API_PREFIX}/unsubscribe?token={make_unsubscribe_token(user_id)}"
