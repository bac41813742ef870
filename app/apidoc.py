"""OpenAPI fragments the routes share (error responses in the one JSON error shape, with the
code each carries as its example) and the plugin that adds, to every operation, the statuses
the app-wide rules give it: 401 where a token is required, 400/413/415/422 where a body is
read, 404 where the path names something, 422 for query parameters, 429 where a limit applies,
503 everywhere; and an operationId from the view's name."""

import re

from apispec import BasePlugin

from app.http import API_PREFIX
from app.limits import EXEMPT_PREFIXES

ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/Error"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


def error_response(description: str, code: str, message: str, headers: dict | None = None) -> dict:
    """An OpenAPI response object: the JSON error shape, `code` in its example."""
    response = {
        "description": description,
        "content": {
            "application/json": {
                "schema": ERROR_SCHEMA_REF,
                "example": {"error": {"code": code, "message": message, "details": {}}},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


TOKEN_REQUIRED = error_response(
    "No valid access token: token_missing, token_invalid, token_expired, token_revoked or "
    "token_wrong_type",
    "token_missing",
    "Authentication is required.",
)
NOT_FOUND = error_response("not_found", "not_found", "The requested resource was not found.")
RATE_LIMITED = error_response(
    "rate_limited, with Retry-After",
    "rate_limited",
    "Too many requests: limit of 60 per 1 minute.",
    RETRY_AFTER,
)
UNAVAILABLE = error_response(
    "service_unavailable: MongoDB or Redis is unreachable, with Retry-After",
    "service_unavailable",
    "A service this needs is unavailable right now; try again shortly.",
    RETRY_AFTER,
)
UNSUPPORTED_MEDIA_TYPE = error_response(
    "unsupported_media_type: the body is not of the documented type",
    "unsupported_media_type",
    "Send the request body as application/json.",
)
TOO_LARGE = error_response(
    "payload_too_large: the body is over 64 KiB",
    "payload_too_large",
    "The request body is too large.",
)
INVALID_JSON = error_response(
    "invalid_json: the body is not JSON (syntax, encoding, NaN or Infinity)",
    "invalid_json",
    "The request body is not valid JSON.",
)
VALIDATION = error_response(
    "validation_error: a field or parameter is invalid, unknown or missing; JSON nested more "
    "than 32 levels, integers over 100 digits, NUL or unpaired surrogates in any string",
    "validation_error",
    "The request body or parameters are invalid.",
)
URI_TOO_LONG = error_response(
    "uri_too_long: the request line is over 4 KiB (answered by the web server)",
    "uri_too_long",
    "The request URL is too long.",
)
HEADERS_TOO_LARGE = error_response(
    "headers_too_large: a header is over 8 KiB or there are over 100 (answered by the web server)",
    "headers_too_large",
    "The request headers are too large.",
)
BODY_METHODS = ("post", "put", "patch", "delete")
# Every route under /api/v1 may answer these.
COMMON = {"429": RATE_LIMITED, "503": UNAVAILABLE}
# And every route that takes an access token, these.
SIGNED_IN = {**COMMON, "401": TOKEN_REQUIRED}


def errors(*kinds) -> dict:
    """Responses for APIError classes (their status, code and message); codes of one status
    share a response, whose example is the first."""
    by_status: dict[int, list[tuple[str, str]]] = {}
    for kind in kinds:
        by_status.setdefault(kind.status, []).append((kind.code, kind.message))
    return {
        str(status): error_response(" or ".join(c for c, _ in found), *found[0])
        for status, found in by_status.items()
    }


def html_page(description: str) -> dict:
    """An OpenAPI response object: an HTML page."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _answers_html(responses: dict) -> bool:
    return any(
        isinstance(response, dict) and "text/html" in response.get("content", {})
        for status, response in responses.items()
        if str(status).startswith("2")
    )


def _operation_id(endpoint: str, method: str, methods: int) -> str:
    words = re.split(r"[._-]", endpoint.split(".", 1)[-1])
    name = words[0] + "".join(word.title() for word in words[1:])
    return f"{method}{name[0].upper()}{name[1:]}" if methods > 1 else name


class ContractPlugin(BasePlugin):
    """Adds the statuses every operation can answer by the app-wide rules (routes add their
    own codes); keeps what a route documents itself."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Complete each operation of `path` (apispec calls this once per path)."""
        rule = kwargs.get("rule")
        methods = [m for m in (operations or {}) if m in ("get", *BODY_METHODS)]
        for method in methods:
            operation = operations[method]
            responses = operation.setdefault("responses", {})
            added = {"503": UNAVAILABLE, "414": URI_TOO_LONG, "431": HEADERS_TOO_LARGE}
            if path and path.startswith(API_PREFIX) and not path.startswith(EXEMPT_PREFIXES):
                added["429"] = RATE_LIMITED
            if operation.get("security"):
                added["401"] = TOKEN_REQUIRED
            if "{" in (path or ""):
                added["404"] = NOT_FOUND
            params = operation.get("parameters", [])
            # A page (an HTML route) answers bad input with a page of its own.
            if not _answers_html(responses) and any(
                isinstance(p, dict) and p.get("in") == "query" for p in params
            ):
                added["422"] = VALIDATION
            if method in BODY_METHODS and "requestBody" in operation:
                content = operation["requestBody"].get("content", {})
                if "application/json" in content:
                    added.update({"400": INVALID_JSON, "413": TOO_LARGE, "422": VALIDATION})
                    added["415"] = UNSUPPORTED_MEDIA_TYPE
            for status, response in added.items():
                # flask-smorest's own 422 (a component reference) says nothing: ours replaces it.
                mine = responses.get(status)
                if mine is None or (status == "422" and (isinstance(mine, str) or "$ref" in mine)):
                    responses[status] = response
            if rule is not None and "operationId" not in operation:
                operation["operationId"] = _operation_id(rule.endpoint, method, len(methods))
