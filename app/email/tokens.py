"""Signed unsubscribe tokens (itsdangerous with SECRET_KEY); they do not expire, as RFC 8058
links in old mail must keep working.

A token is `{"u": <user id>, "c": <category>}`: its one-click POST turns that category off.
Tokens of mail sent before categories existed carry no `c`; they keep doing what they did
then, turning every optional category off.
"""

from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.http import API_PREFIX

SALT = "goalgetter.unsubscribe"


class TokenTampered(ValueError):
    """The token was not signed by us (or was altered)."""


class Unsubscribe(NamedTuple):
    """What a token names: a user, and the category it turns off (None: every optional)."""

    user_id: str
    category: str | None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_unsubscribe_token(user_id: str, category: str | None = None) -> str:
    """A token naming the user and the category whose mail it switches off."""
    payload = {"u": str(user_id)}
    if category is not None:
        payload["c"] = category
    return _serializer().dumps(payload)


def read_unsubscribe_token(token: str) -> Unsubscribe:
    """The user and category inside a token we signed; raises TokenTampered otherwise."""
    try:
        payload = _serializer().loads(token or "")
    except BadSignature as exc:
        raise TokenTampered("the unsubscribe token is not valid") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
        raise TokenTampered("the unsubscribe token is not valid")
    category = payload.get("c")
    if category is not None and not isinstance(category, str):
        raise TokenTampered("the unsubscribe token is not valid")
    return Unsubscribe(payload["u"], category)


def unsubscribe_url(user_id: str, category: str | None = None) -> str:
    """The one-click unsubscribe URL of one category's mail (List-Unsubscribe, footer link)."""
    base = current_app.config["API_BASE_URL"]
    return f"{base}{API_PREFIX}/unsubscribe?token={make_unsubscribe_token(user_id, category)}"
