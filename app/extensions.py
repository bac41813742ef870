"""Unbound extension objects, bound to an app by the factory with init_app."""

from flask import Flask
from flask_cors import CORS
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from app.errors import ErrorSchema, handle_http_exception


class GoalGetterApi(Api):
    """flask-smorest with our error shape, documented and answered."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


cors = CORS()
api = GoalGetterApi()


def register_proxy(app: Flask) -> None:
    """Trust exactly TRUSTED_PROXY_HOPS proxies for client IP and scheme (Heroku: 1)."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
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
