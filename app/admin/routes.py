"""/api/v1/admin: jobs and the email log (admins only)."""

from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from app import apidoc
from app.admin import service
from app.admin.schemas import (
    EmailArgs,
    EmailListArgs,
    EmailListSchema,
    EmailSchema,
    JobRunSchema,
    JobSchema,
    RedriveResultSchema,
    RedriveSchema,
)
from app.auth.decorators import admin_required
from app.errors import ErrorSchema
from app.http import API_PREFIX, BEARER

blp = Blueprint("admin", __name__, url_prefix=f"{API_PREFIX}/admin", description="Administration")

ADMIN_REQUIRED = apidoc.error_response(
    "admin_required: the signed-in user is no admin",
    "admin_required",
    "This needs an administrator.",
)


@blp.route("/jobs/<name>", methods=["POST"])
@jwt_required()
@admin_required
@blp.arguments(JobRunSchema, required=False, example={"now": "2026-12-06T09:00:00Z"})
@blp.response(202, JobSchema)
@blp.doc(security=BEARER, responses={"403": ADMIN_REQUIRED, **apidoc.errors(service.UnknownJob)})
def run_job(body, name):
    """Run a recurring job or `health-check` now (`now` simulates a time, not in production)."""
    return service.job_json(service.run_job(name, (body or {}).get("now")))


@blp.route("/jobs/<job_id>", methods=["GET"])
@jwt_required()
@admin_required
@blp.response(200, JobSchema)
@blp.doc(security=BEARER, responses={"403": ADMIN_REQUIRED})
def get_job(job_id):
    """A job's status and result."""
    return service.job_json(service.get_job(job_id))


@blp.route("/emails", methods=["GET"])
@jwt_required()
@admin_required
@blp.arguments(EmailListArgs, location="query")
@blp.response(200, EmailListSchema)
@blp.doc(
    security=BEARER,
    operationId="listEmails",
    responses={**apidoc.SIGNED_IN, "403": ADMIN_REQUIRED},
)
def list_emails(args):
    """The email log, newest first (`delivery_status` filters by the webhook's verdict); bodies
    with `include=body` (tokens redacted)."""
    rows, next_cursor = service.list_emails(args, args["limit"], args["cursor"])
    include_body = args.get("include") == "body"
    return {
        "emails": [service.email_json(r, include_body) for r in rows],
        "next_cursor": next_cursor,
    }


@blp.route("/emails/<email_id>/retry", methods=["POST"])
@jwt_required()
@admin_required
@blp.response(200, EmailSchema)
@blp.alt_response(409, schema=ErrorSchema, description="email_not_failed: it is not failed")
@blp.doc(security=BEARER, responses={"403": ADMIN_REQUIRED})
def retry_email(email_id):
    """Send a failed email again: the same row and key, so it goes at most once more."""
    return service.email_json(service.retry_email(email_id), include_body=False)


@blp.route("/emails/retry", methods=["POST"])
@jwt_required()
@admin_required
@blp.arguments(RedriveSchema, example={"type": "welcome", "failed_since": "2026-12-01T00:00:00Z"})
@blp.response(202, RedriveResultSchema)
@blp.doc(security=BEARER, responses={"403": ADMIN_REQUIRED})
def retry_emails(body):
    """Send failed emails again: by `ids`, or every failed one of a `type` and/or since
    `failed_since`."""
    return {"retried": service.retry_emails(body)}


@blp.route("/emails/<email_id>", methods=["GET"])
@jwt_required()
@admin_required
@blp.arguments(EmailArgs, location="query")
@blp.response(200, EmailSchema)
@blp.doc(
    security=BEARER,
    operationId="getEmail",
    summary="One email with its delivery timeline",
    description="The row with every SendGrid event in the order it happened (each once) and "
    "the delivery status they add up to; the body with `include=body` (tokens redacted).",
    responses={
        **apidoc.SIGNED_IN,
        "403": ADMIN_REQUIRED,
        "404": apidoc.error_response(
            "not_found: no email with this id", "not_found", "The email was not found."
        ),
    },
)
def get_email(args, email_id):
    """One email_log row with its events."""
    return service.email_json(service.get_email(email_id), args.get("include") == "body")
