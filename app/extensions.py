"""Unbound extension objects, bound to an app by the factory with init_app."""

import functools
import logging

from flask import Flask, current_app
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from app.errors import ErrorSchema, handle_http_exception
from app.limits import ONE_TRIP_STRATEGY, client_ip, is_exempt, rate_limit_headers


class GoalGetterApi(Api):
    """flask-smorest with our error shape, documented and answered."""

    ERROR_SCHEMA = ErrorSchema
    # No catch-all `default` response: every status an operation answers is listed (apidoc).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return handle_http_exception(error)


cors = CORS()
api = GoalGetterApi()
jwt = JWTManager()


def _default_limit() -> str:
    # Read per request: the limiter object outlives any one app's configuration.
    return f"{current_app.config['RATE_LIMIT_PER_MINUTE']}/minute"


limiter = Limiter(
    key_func=client_ip,
    default_limits=[_default_limit],
    key_prefix="rl",
    # One Redis script per limited request; the headers come from its answer (app.limits).
    strategy=ONE_TRIP_STRATEGY,
    headers_enabled=False,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
    default_limits_per_method=True,
)
limiter.request_filter(is_exempt)


def register_proxy(app: Flask) -> None:
    """Trust exactly TRUSTED_PROXY_HOPS proxies for client IP and scheme (Heroku: 1)."""
    hops = app.config["TRUSTED_PROXY_HOPS"] or 0
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_cors(app: Flask) -> None:
    """CORS for CORS_ORIGINS on the API."""
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        expose_headers=[
            "X-Request-ID",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        ],
    )


def register_limiter(app: Flask) -> None:
    """Rate limits on every /api/v1 route: RATE_LIMIT_PER_MINUTE per client and (method,
    route), tighter ones where routes declare them; Redis storage, in-memory fallback."""
    from app.redis import limits_uri

    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", limits_uri(redis_url) if redis_url else "memory://"
    )
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 1, "socket_connect_timeout": 1}
    )
    limiter.init_app(app)
    app.after_request(functools.partial(rate_limit_headers, limiter))
    logging.getLogger("flask-limiter").setLevel(logging.INFO)
