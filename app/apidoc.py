"""OpenAPI fragments the routes share: error responses in the one JSON error shape, with the
code each carries as its example."""

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
# Every route under /api/v1 may answer these.
COMMON = {"429": RATE_LIMITED, "503": UNAVAILABLE}
# And every route that takes an access token, these.
SIGNED_IN = {**COMMON, "401": TOKEN_REQUIRED}
