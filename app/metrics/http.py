"""Counting HTTP requests: every response, by method, route template (never the raw path) and
status, with its duration."""

import time

from flask import Flask, current_app, g, request, request_finished, request_started

from app.metrics_store import Buffer, Counter, Histogram

HTTP_REQUESTS = Counter(
    "goalgetter_http_requests_total",
    "HTTP responses by method, route template and status",
    ("method", "route", "status"),
)
HTTP_DURATION = Histogram(
    "goalgetter_http_request_duration_seconds",
    "Seconds from the request's start to its response, by method and route template",
    ("method", "route"),
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests no route matched share one label value: raw paths would grow without bound.
UNMATCHED = "<unmatched>"


def _started(sender, **extra) -> None:
    g.metrics_started = time.perf_counter()


def _finished(sender, response, **extra) -> None:
    started = g.get("metrics_started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    method = request.method if request.method in METHODS else "OTHER"
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    buffer(current_app).add(
        HTTP_REQUESTS.inc(method=method, route=route, status=response.status_code),
        HTTP_DURATION.observe(elapsed, method=method, route=route),
    )


def buffer(app: Flask) -> Buffer:
    """This app's buffer of request observations."""
    return app.extensions["metrics_buffer"]


def register_http_metrics(app: Flask) -> None:
    """Count every request this app answers (signals: before any before_request runs, and
    after the response is final)."""
    app.extensions["metrics_buffer"] = Buffer(app)
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)
