"""Request body rules: JSON only, 64 KiB at most, parsed by the one strict JSON parser, except
views that declare a raw body."""

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from app import json_input
from app.errors import InvalidJSONBody, ValidationFailed

JSON_BODY_LIMIT = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def raw_body(max_bytes: int = JSON_BODY_LIMIT):
    """Mark a view that reads its own body (form or signed bytes) up to `max_bytes`."""

    def mark(view):
        view.raw_body_limit = max_bytes
        return view

    return mark


def _has_body() -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_body() -> None:
    """Reject oversized bodies (413), non-JSON bodies on JSON views (415), JSON that is not
    JSON (400) and JSON the service refuses: too deep, huge integers, NUL, lone surrogates
    (422)."""
    if request.method not in BODY_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    raw_limit = getattr(view, "raw_body_limit", None)
    limit = raw_limit or JSON_BODY_LIMIT
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if raw_limit is not None or not _has_body():
        return
    if not request.is_json:
        raise UnsupportedMediaType()
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        # The views parse the body again; this pass proves the stdlib parser safe on it.
        json_input.loads(data)
    except json_input.InvalidJSON:
        raise InvalidJSONBody() from None
    except json_input.JSONRejected as exc:
        raise ValidationFailed(exc.fields) from None


def register_body_rules(app: Flask) -> None:
    """Apply the body rules to every request."""
    app.config["MAX_CONTENT_LENGTH"] = JSON_BODY_LIMIT
    app.before_request(check_body)
