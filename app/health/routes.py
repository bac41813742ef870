"""GET /api/v1/health and /api/v1/health/ready."""

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.auth.decorators import caller_is_admin
from app.health.service import readiness
from app.http import API_PREFIX

blp = Blueprint("health", __name__, url_prefix=f"{API_PREFIX}/health", description="Health checks")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class CheckSchema(Schema):
    ok = fields.Boolean(required=True)
    detail = fields.String(allow_none=True, metadata={"description": "Development or admins"})


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema))


@blp.route("")
@blp.response(200, HealthSchema)
def health():
    """Liveness: the process answers; no dependencies are checked."""
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="A dependency is missing")
def ready():
    """Readiness: MongoDB, Redis, a live worker on every queue, a recent scheduler beat.
    Anyone sees status and each check's ok; the details (hosts, errors) are for development
    and for a request with an admin's access token."""
    details = current_app.config["HEALTH_DETAILS_PUBLIC"] or caller_is_admin()
    ok, checks = readiness(details=details)
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return body, (200 if ok else 503)
