"""/api/v1/admin: jobs and the email log (admins only)."""

from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from app.admin import service
from app.admin.schemas import (
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


@blp.route("/jobs/<name>", methods=["POST"])
@jwt_required()
@admin_required
@blp.arguments(JobRunSchema, required=False)
@blp.response(202, JobSchema)
@blp.doc(security=BEARER)
def run_job(body, name):
    """Run a recurring job or `health-check` now (`now` simulates a time, not in production)."""
    return service.job_json(service.run_job(name, (body or {}).get("now")))


@blp.route("/jobs/<job_id>", methods=["GET"])
@jwt_required()
@admin_required
@blp.response(200, JobSchema)
@blp.doc(security=BEARER)
def get_job(job_id):
    """A job's status and result."""
    return service.job_json(service.get_job(job_id))


@blp.route("/emails", methods=["GET"])
@jwt_required()
@admin_required
@blp.arguments(EmailListArgs, location="query")
@blp.response(200, EmailListSchema)
@blp.doc(security=BEARER)
def list_emails(args):
    """The email log, newest first; bodies with `include=body` (tokens redacted)."""
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
@blp.doc(security=BEARER)
def retry_email(email_id):
    """Send a failed email again: the same row and key, so it goes at most once more."""
    return service.email_json(service.retry_email(email_id), include_body=False)


@blp.route("/emails/retry", methods=["POST"])
@jwt_required()
@admin_required
@blp.arguments(RedriveSchema)
@blp.response(202, RedriveResultSchema)
@blp.doc(security=BEARER)
def retry_emails(body):
    """Send failed emails again: by `ids`, or every failed one of a `type` and/or since
    `failed_since`."""
    return {"retried": service.retry_emails(body)}
