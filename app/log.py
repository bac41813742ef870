"""Logging (text or one JSON object per line, with request and job context); Sentry when
configured (app.sentry)."""

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Loggers that print secrets or bodies at DEBUG (python_http_client logs the API key).
QUIET_LOGGERS = ("python_http_client", "sendgrid", "urllib3", "werkzeug")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(job_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def bind_user(user_id: str) -> None:
    """Name the request's user in every log line from here on (a verified token's subject)."""
    g.user_id = user_id


class ContextFilter(logging.Filter):
    """Adds request id, user id, job id and job name to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = ""
        record.user_id = ""
        record.job_id = ""
        record.job_name = ""
        if has_request_context():
            record.request_id = g.get("request_id", "")
            record.user_id = g.get("user_id", "")
        from rq import get_current_job

        job = get_current_job()
        if job is not None:
            record.job_id = job.id
            record.job_name = job.func_name
        return True


class _JsonContextFormatter(JsonFormatter):
    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        for name in ("request_id", "user_id", "job_id", "job_name"):
            value = getattr(record, name, "")
            if value:
                log_record[name] = value
            else:
                log_record.pop(name, None)


def _handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if log_format == "json":
        handler.setFormatter(_JsonContextFormatter(JSON_FIELDS, timestamp=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler._goalgetter = True
    return handler


def gunicorn_logconfig(log_format: str, level: str) -> dict:
    """gunicorn's `logconfig_dict`: its master's and workers' own lines through the app's one
    root handler, so they are JSON whenever the app's are."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"app": {"()": _handler, "log_format": log_format}},
        "root": {"level": level, "handlers": ["app"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": level, "handlers": [], "propagate": True},
        },
    }


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Install the one root handler (idempotent) in the chosen format."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_goalgetter", False):
            root.removeHandler(existing)
    root.addHandler(_handler(log_format))
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # The in-process worker takes RQ's scheduler locks every second; that is not news.
    logging.getLogger("rq.scheduler").setLevel(logging.WARNING)
    # RQ 3 configures its own handlers without propagation; route them through ours.
    for name in ("rq.worker", "rq.scheduler", "rq_scheduler.scheduler", "rq.queue", "rq.job"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


def _start_request() -> None:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = supplied if _VALID_REQUEST_ID.match(supplied) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    logging.getLogger("app.request").info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def register_logging(app: Flask) -> None:
    """Configure logging, request ids and the request log line; Sentry when SENTRY_DSN is set."""
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
    if app.config.get("SENTRY_DSN"):
        from app.sentry import init_sentry

        init_sentry(app.config["SENTRY_DSN"], app.config["APP_ENV"], app.config.get("RELEASE"))
