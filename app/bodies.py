"""Request body rules: JSON only, 64 KiB at most, except views that declare a raw body."""

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

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
    """Reject oversized bodies (413) and non-JSON bodies on JSON views (415)."""
    if request.method not in BODY_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    raw_limit = getattr(view, "raw_body_limit", None)
    limit = raw_limit or JSON_BODY_LIMIT
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if raw_limit is None and _has_body() and not request.is_json:
        raise UnsupportedMediaType()


def register_body_rules(app: Flask) -> None:
    """Apply the body rules to every request."""
    app.config["MAX_CONTENT_LENGTH"] = JSON_BODY_LIMIT
    app.before_request(check_body)
