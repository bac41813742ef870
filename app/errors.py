"""The one error vocabulary and JSON error shape of the API."""

import logging

import marshmallow as ma
import pymongo.errors
import redis.exceptions
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from app.db import MongoNotConfigured
from app.redis import RedisNotConfigured

log = logging.getLogger(__name__)

# A store that cannot be reached (down, partitioned, timed out) is a 503 with a retry hint on
# every route; any other database error is a bug and stays a 500 that Sentry sees.
UNAVAILABLE_ERRORS = (
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ExecutionTimeout,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY_AFTER_S = 5

# Code and sentence for each HTTP status the framework itself can raise.
HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("token_missing", "Authentication is required."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "The requested resource was not found."),
    405: ("method_not_allowed", "The method is not allowed for this URL."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request URL is too long."),
    415: ("unsupported_media_type", "Send the request body as application/json."),
    422: ("validation_error", "The request body or parameters are invalid."),
    429: ("rate_limited", "Too many requests; slow down and try again later."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal_error", "Something went wrong on our side."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}
INVALID_JSON_MESSAGES = {"json": ["Invalid JSON body."]}


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "validation_error"})
    message = ma.fields.String(required=True, metadata={"example": "Human-readable sentence."})
    details = ma.fields.Dict(
        required=True,
        metadata={"example": {"fields": {"email": ["Not a valid email address."]}}},
    )


class ErrorSchema(ma.Schema):
    """The error shape, for the OpenAPI document."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class APIError(Exception):
    """An error the API answers with its JSON shape; subclasses fix status and code."""

    status = 400
    code = "bad_request"
    message = "The request could not be understood."

    def __init__(self, message=None, *, code=None, status=None, details=None, headers=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(APIError):
    status, code = 400, "bad_request"


class Unauthorized(APIError):
    status, code, message = 401, "token_missing", "Authentication is required."


class Forbidden(APIError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class NotFound(APIError):
    status, code, message = 404, "not_found", "The requested resource was not found."


class Conflict(APIError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class InvalidJSONBody(APIError):
    status, code, message = 400, "invalid_json", "The request body is not valid JSON."


class ValidationFailed(APIError):
    status, code, message = 422, "validation_error", "The request body or parameters are invalid."

    def __init__(self, fields: dict, message=None, **kwargs):
        super().__init__(message, details={"fields": fields}, **kwargs)


class ServiceUnavailable(APIError):
    status, code = 503, "service_unavailable"
    message = "The service is temporarily unavailable."


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    """The JSON error shape."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code, message, status, details=None, headers=None):
    """A Flask response carrying the JSON error shape."""
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _validation_fields(messages) -> dict:
    """Merge webargs' per-location messages into one `fields` mapping."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    fields: dict = {}
    for value in messages.values():
        if isinstance(value, dict):
            fields.update(value)
        else:
            fields.setdefault("_schema", []).extend(value if isinstance(value, list) else [value])
    return fields


def handle_api_error(error: APIError):
    """Answer an APIError."""
    return error_response(error.code, error.message, error.status, error.details, error.headers)


def handle_http_exception(error: HTTPException):
    """Answer a framework HTTP error (routing, body limits, webargs validation) in our shape."""
    status = error.code or 500
    code, message = HTTP_CODES.get(status, ("bad_request", error.description or "Bad request."))
    details = {}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    headers = dict(data.get("headers") or {})
    if status == 400 and messages == INVALID_JSON_MESSAGES:
        code, message = InvalidJSONBody.code, InvalidJSONBody.message
    elif status == 422 and messages is not None:
        details = {"fields": _validation_fields(messages)}
    elif status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429 and error.description:
        message = f"Too many requests: limit of {error.description}."
    response = error_response(code, message, status, details, headers)
    # Keep headers the exception carries (e.g. Retry-After set by flask-limiter).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers.setdefault(name, value)
    return response


def handle_internal_error(error: InternalServerError):
    """Answer any unexpected exception with a 500 that leaks nothing (Flask logged the trace)."""
    code, message = HTTP_CODES[500]
    return error_response(code, message, 500)


def handle_unavailable(error: Exception):
    """A store is unreachable: 503 service_unavailable, whatever the route."""
    log.warning("a store is unavailable: %s: %s", type(error).__name__, error)
    return error_response(
        "service_unavailable",
        "A service this needs is unavailable right now; try again shortly.",
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def register_errors(app: Flask) -> None:
    """Route every error, including flask-smorest's and werkzeug's, to the one JSON shape."""
    for unavailable in (*UNAVAILABLE_ERRORS, MongoNotConfigured, RedisNotConfigured):
        app.register_error_handler(unavailable, handle_unavailable)
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    # On InternalServerError, not Exception, so Sentry's Flask integration still sees the error.
    app.register_error_handler(InternalServerError, handle_internal_error)
