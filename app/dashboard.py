"""rq-dashboard at /admin/rq/ behind HTTP basic auth and a same-origin check."""

import hmac
import logging
from urllib.parse import urlsplit

from flask import Flask, Response, request

log = logging.getLogger(__name__)
DASHBOARD_PREFIX = "/admin/rq"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# rq-dashboard's one state change that also answers GET (requeue every failed job).
STATE_CHANGING_GETS = frozenset({"rq_dashboard.requeue_all"})


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _same_origin() -> bool:
    """The browser says the request comes from a page of this origin (Origin, else Referer).
    Basic auth alone does not stop a cross-site form: browsers resend cached credentials."""
    own = _origin_of(request.host_url)
    origin = request.headers.get("Origin")
    if origin:
        return origin == own
    referer = request.headers.get("Referer")
    return referer is not None and _origin_of(referer) == own


def _changes_state() -> bool:
    return request.method not in SAFE_METHODS or request.endpoint in STATE_CHANGING_GETS


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
        if request.blueprint != rq_dashboard.blueprint.name:
            return None
        if not _authorized(app):
            return Response(
                "Authentication required.",
                401,
                {"WWW-Authenticate": 'Basic realm="rq-dashboard"'},
            )
        if _changes_state() and not _same_origin():
            return Response("Cross-origin request refused.", 403)
        return None
