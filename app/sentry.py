"""Sentry error reporting (Flask + RQ), configured so that no secret or private text leaves.

Frame locals and request bodies are never collected (they held plaintext passwords, argon2
hashes and chat text), nor user data, cookies, query strings, job arguments or AI prompts:
sentry-sdk 2.x's `data_collection` says so category by category (it supersedes
`send_default_pii`, which stays at its default, off). Every event then passes `scrub_event`,
which removes the same things again wherever an integration still puts them, so a changed
SDK default cannot reopen a leak.
"""

from urllib.parse import urlsplit, urlunsplit

REMOVED = "[removed]"
# Header names compared lower-cased; Sentry's own list covers these without PII, this keeps
# them out whatever its defaults become.
SECRET_HEADERS = frozenset({"authorization", "cookie", "x-csrf-token", "x-api-key"})
# What an RQ job's event may say about the job: never its arguments (email context, ids).
RQ_JOB_FIELDS = ("job_id", "func")
# Every category of automatic collection off, except source lines around a frame (code, not
# data) and the request headers outside Sentry's sensitive list.
DATA_COLLECTION = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "denylist", "terms": sorted(SECRET_HEADERS)}},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
}


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")) if parts.query else url


def _scrub_request(request: dict) -> None:
    for name in ("data", "cookies", "env"):
        request.pop(name, None)
    if request.get("query_string"):
        request["query_string"] = REMOVED
    if isinstance(request.get("url"), str):
        request["url"] = _without_query(request["url"])
    headers = request.get("headers")
    if isinstance(headers, dict):
        for name in list(headers):
            if name.lower() in SECRET_HEADERS:
                headers[name] = REMOVED


def _scrub_frames(event: dict) -> None:
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    """A breadcrumb without query strings in the URLs it records."""
    data = crumb.get("data")
    if isinstance(data, dict):
        if isinstance(data.get("url"), str):
            data["url"] = _without_query(data["url"])
        for name in ("http.query", "http.fragment"):
            data.pop(name, None)
    return crumb


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """The event with request secrets, frame locals and job arguments removed."""
    if isinstance(event.get("request"), dict):
        _scrub_request(event["request"])
    _scrub_frames(event)
    extra = event.get("extra")
    if isinstance(extra, dict) and isinstance(extra.get("rq-job"), dict):
        job = extra["rq-job"]
        extra["rq-job"] = {name: job[name] for name in RQ_JOB_FIELDS if name in job}
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        scrub_breadcrumb(crumb)
    return event


def sentry_options(dsn: str, environment: str, release: str | None = None) -> dict:
    """The sentry_sdk.init arguments of this service."""
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    return {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "integrations": [FlaskIntegration(), RqIntegration()],
        "traces_sample_rate": 0.0,
        "data_collection": DATA_COLLECTION,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_breadcrumb": scrub_breadcrumb,
    }


def init_sentry(dsn: str, environment: str, release: str | None = None) -> None:
    """Start Sentry with the Flask and RQ integrations and the scrubbing above."""
    import sentry_sdk

    sentry_sdk.init(**sentry_options(dsn, environment, release))
