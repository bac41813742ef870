"""GET /metrics (outside /api/v1, never rate-limited): Prometheus text, for a scraper that
presents METRICS_TOKEN as a bearer token or as the password of basic auth."""

import hmac

from flask import Flask, current_app, make_response, request
from flask_smorest import Blueprint
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from app import apidoc
from app.errors import APIError
from app.extensions import api
from app.metrics.collector import exposition
from app.metrics.http import buffer, register_http_metrics

blp = Blueprint("metrics", __name__, description="Prometheus metrics for the operator")
CHALLENGE = 'Bearer realm="metrics", Basic realm="metrics"'
EXAMPLE = (
    "# HELP goalgetter_outbox_pending Emails written and not yet delivered (pending or sending)\n"
    "# TYPE goalgetter_outbox_pending gauge\n"
    "goalgetter_outbox_pending 0.0\n"
)


class MetricsDisabled(APIError):
    status, code = 404, "metrics_disabled"
    message = "Metrics are not configured (METRICS_TOKEN is unset)."


class MetricsAuthRequired(APIError):
    status, code = 401, "metrics_auth_required"
    message = "Send METRICS_TOKEN as a bearer token or as the basic-auth password."


def _presented() -> str | None:
    auth = request.authorization
    if auth is None:
        return None
    if auth.type == "bearer":
        return auth.token
    if auth.type == "basic":
        return auth.password
    return None


def _check_credentials() -> None:
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected:
        raise MetricsDisabled()
    presented = _presented()
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise MetricsAuthRequired(headers={"WWW-Authenticate": CHALLENGE})


@blp.route("/metrics", methods=["GET"])
@blp.doc(
    operationId="getMetrics",
    summary="Prometheus metrics (text exposition format 0.0.4)",
    description="Outside /api/v1 and never rate-limited. Authenticate with `METRICS_TOKEN` as "
    "a bearer token, or as the password of HTTP basic auth (any user name). Every series is "
    "read from the shared stores when scraped, so each web process answers alike.",
    security=[{"metricsBearer": []}, {"metricsBasic": []}],
    responses={
        "200": {
            "description": "Every series, as Prometheus text",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": EXAMPLE}},
        },
        "401": apidoc.error_response(
            "metrics_auth_required: no or wrong credentials (WWW-Authenticate names both schemes)",
            MetricsAuthRequired.code,
            MetricsAuthRequired.message,
            {"WWW-Authenticate": {"schema": {"type": "string"}, "example": CHALLENGE}},
        ),
        "404": apidoc.error_response(
            "metrics_disabled: METRICS_TOKEN is unset",
            MetricsDisabled.code,
            MetricsDisabled.message,
        ),
    },
)
def metrics():
    """Every series, read from the stores now."""
    _check_credentials()
    buffer(current_app).flush()
    response = make_response(exposition())
    # Every name is a classic one, so the 0.0.4 format every Prometheus reads says it all.
    response.headers["Content-Type"] = CONTENT_TYPE_PLAIN_0_0_4
    response.headers["Cache-Control"] = "no-store"
    return response


def register_metrics(app: Flask) -> None:
    """Count every request, and mount GET /metrics (in the OpenAPI document, with its two
    security schemes)."""
    register_http_metrics(app)
    api.spec.components.security_scheme(
        "metricsBearer", {"type": "http", "scheme": "bearer", "description": "METRICS_TOKEN"}
    )
    api.spec.components.security_scheme(
        "metricsBasic",
        {"type": "http", "scheme": "basic", "description": "Any user name, METRICS_TOKEN"},
    )
    api.register_blueprint(blp)
