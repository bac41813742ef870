"""rq-dashboard at /admin/rq/ behind HTTP basic auth."""

import hmac
import logging

from flask import Flask, Response, request

log = logging.getLogger(__name__)
DASHBOARD_PREFIX = "/admin/rq"


def _authorized(app: Flask) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    user_ok = hmac.compare_digest(auth.username or "", app.config["RQ_DASHBOARD_USERNAME"])
    password_ok = hmac.compare_digest(auth.password or "", app.config["RQ_DASHBOARD_PASSWORD"])
    return user_ok and password_ok


def register_dashboard(app: Flask) -> None:
    """Mount rq-dashboard when credentials are configured (generated in development)."""
    if not (app.config.get("RQ_DASHBOARD_USERNAME") and app.config.get("RQ_DASHBOARD_PASSWORD")):
        log.info("rq-dashboard not mounted: RQ_DASHBOARD_USERNAME/PASSWORD unset")
        return
    if not app.config.get("REDIS_URL"):
        log.info("rq-dashboard not mounted: no Redis")
        return
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    from app.redis import dashboard_urls

    app.config["RQ_DASHBOARD_REDIS_URL"] = dashboard_urls(app.config["REDIS_URL"])
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=DASHBOARD_PREFIX)

    @app.before_request
    def _require_dashboard_login():
        if request.blueprint != rq_dashboard.blueprint.name or _authorized(app):
            return None
        return Response(
            "Authentication required.",
            401,
            {"WWW-Authenticate": 'Basic realm="rq-dashboard"'},
        )
