"""Rate-limit keys and exemptions; the limiter itself is in app.extensions."""

from flask import request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_limiter.util import get_remote_address

from app.http import API_PREFIX

# Liveness/readiness probes, the docs and the signed webhook are never limited.
EXEMPT_PREFIXES = (
    f"{API_PREFIX}/health",
    f"{API_PREFIX}/docs",
    f"{API_PREFIX}/openapi.json",
    f"{API_PREFIX}/webhooks/",
)


def client_ip() -> str:
    """The client's IP: `remote_addr` after ProxyFix trusted TRUSTED_PROXY_HOPS proxies."""
    return f"ip:{get_remote_address()}"


def user_or_ip() -> str:
    """The JWT identity when a valid token is present (chat routes), else the client IP."""
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # an invalid token is the view's 401 to give, not the limiter's
        identity = None
    return f"user:{identity}" if identity else client_ip()


def is_exempt() -> bool:
    """True for requests no limit applies to: outside /api/v1, preflights, exempt routes."""
    path = request.path
    return (
        request.method == "OPTIONS"
        or not path.startswith(API_PREFIX)
        or path.startswith(EXEMPT_PREFIXES)
    )
