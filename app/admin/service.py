"""Admin: run jobs by name, look at them, list the email log (secrets redacted)."""

import re
from datetime import UTC, datetime

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app import clock
from app.db import get_db
from app.email import delivery, timeline
from app.email.outbox import with_bodies
from app.errors import APIError, NotFound, ServiceUnavailable, ValidationFailed
from app.ids import parse_id
from app.jobs.table import runnable_jobs
from app.pagination import paginate
from app.queue import enqueue
from app.redis import RedisNotConfigured, get_redis

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Links that carry a verify or reset token keep working for whoever holds them: never show them.
_TOKEN_IN_URL = re.compile(r"([?&](?:token)=)[^&\"'\s<>]+")


class UnknownJob(APIError):
    status, code, message = 404, "unknown_job", "There is no job by that name."


class EmailNotFailed(APIError):
    status, code, message = 409, "email_not_failed", "Only a failed email can be sent again."


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # RQ stores naive UTC
        moment = moment.replace(tzinfo=UTC)
    return clock.isoformat(moment)


def job_json(job: Job) -> dict:
    """The API representation of an RQ job."""
    status = job.get_status(refresh=False)
    return {
        "job_id": job.id,
        "name": job.meta.get("name"),
        "status": str(status.value if hasattr(status, "value") else status),
        "result": job.return_value(refresh=False) if status == "finished" else None,
        "enqueued_at": _iso(job.enqueued_at),
        "ended_at": _iso(job.ended_at),
    }


def run_job(name: str, now: datetime | None) -> Job:
    """Enqueue a run of a recurring job or `health-check` under a job id of its own."""
    jobs = runnable_jobs()
    if name not in jobs:
        raise UnknownJob()
    spec = jobs[name]
    kwargs = {}
    if now is not None:
        if current_app.config["APP_ENV"] == "production":
            raise ValidationFailed({"now": ["Not accepted in production."]})
        if not spec.takes_now:
            raise ValidationFailed({"now": [f"{name} takes no now."]})
        kwargs["now"] = now.isoformat()
    try:
        return enqueue(spec.func, meta={"name": name}, **kwargs)
    except (redis.RedisError, RedisNotConfigured) as exc:
        raise ServiceUnavailable("The job queue is unreachable right now.") from exc


def get_job(job_id: str) -> Job:
    """A job by id, or 404."""
    if not _JOB_ID.match(job_id):
        raise NotFound("The job was not found.")
    try:
        return Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        raise NotFound("The job was not found.") from None
    except (redis.RedisError, RedisNotConfigured) as exc:
        raise ServiceUnavailable("The job queue is unreachable right now.") from exc


def redact(text: str | None) -> str | None:
    """Hide the token of verify and reset links."""
    return _TOKEN_IN_URL.sub(r"\1[redacted]", text) if text else text


def email_json(row: dict, include_body: bool) -> dict:
    """The API representation of an email_log row."""
    body = {
        "id": str(row["_id"]),
        "key": row["key"],
        "type": row["type"],
        "to": row["to"],
        "status": row["status"],
        "attempts": row.get("attempts", 0),
        "last_error": row.get("last_error"),
        "created_at": clock.isoformat(row["created_at"]),
        "sent_at": clock.isoformat(row.get("sent_at")),
        "delivery_status": timeline.delivery_status(row),
        "opened": bool(row.get("opened")),
        "clicked": bool(row.get("clicked")),
        "events": [
            {
                **{k: str(v) for k, v in e.items() if k not in ("at", "rank")},
                "at": clock.isoformat(e.get("at")),
            }
            for e in row.get("events", [])
        ],
    }
    if include_body:
        full = with_bodies(row)
        body["subject"] = full["subject"]
        body["html"] = redact(full["html"])
        body["text"] = redact(full["text"])
    return body


def retry_email(email_id: str) -> dict:
    """Send a failed email again (same key: at most once more); returns the row."""
    row = get_email(email_id)
    if row["status"] != "failed" or not delivery.redrive([email_id]):
        raise EmailNotFailed()
    return get_email(email_id)


def retry_emails(filters: dict) -> int:
    """Send failed emails again by ids, or all of a type and/or since a time."""
    if not filters:
        raise ValidationFailed({"_schema": ["Say which emails: ids, type or failed_since."]})
    return delivery.redrive(filters.get("ids"), filters.get("type"), filters.get("failed_since"))


def list_emails(filters: dict, limit: int, cursor: str | None):
    """The email log, newest first, filtered by `to`, `type`, `status`, `delivery_status`."""
    query = {name: filters[name] for name in ("to", "type", "status") if filters.get(name)}
    if filters.get("delivery_status"):
        query.update(timeline.status_query(filters["delivery_status"]))
    return paginate(get_db().email_log, query, "created_at", limit, cursor)


def get_email(email_id: str) -> dict:
    """One email_log row, or 404."""
    row = get_db().email_log.find_one({"_id": parse_id(email_id, "email")})
    if row is None:
        raise NotFound("The email was not found.")
    return row
