"""Email providers: SendGrid through its official client, or the degraded mode without a key.

A provider turns one request's worth of outbox rows into an Outcome: one row as one email, or
rows that share a Template as personalizations of one request (each recipient with its own
substitutions, headers and `custom_args`). It never touches the database.
"""

import base64
import http.client
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from app import clock
from app.email.render import substitutions

log = logging.getLogger(__name__)

# A 429's reset header further ahead than this is not trusted (a clock or proxy error).
MAX_RATE_LIMIT_WAIT = timedelta(hours=1)
ERROR_TEXT_LIMIT = 500
# SendGrid's limit of personalizations (and recipients) in one mail/send request.
MAX_PERSONALIZATIONS = 1000

_warned_lock = threading.Lock()
_warned_degraded = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one request: sent, retry (transient), failed (permanent) or skipped;
    `status` is the HTTP status when there was one."""

    kind: str
    message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    status: int | None = None


@dataclass(frozen=True)
class Bodies:
    """Subject, HTML and text of a request: final, or with substitution tags."""

    subject: str
    html: str
    text: str


class SendGridProvider:
    """SendGrid v3 mail/send with a request timeout (the client has none by default)."""

    name = "sendgrid"
    counts_attempts = True

    def __init__(self, config):
        self._api_key = config["SENDGRID_API_KEY"]
        self._host = config["SENDGRID_API_HOST"]
        self._timeout = config["SENDGRID_TIMEOUT_S"]
        self._from = {"email": config["FROM_EMAIL"], "name": config["FROM_NAME"]}
        self._reply_to = {"email": config["SUPPORT_EMAIL"]}
        # python_http_client mutates the header dict its clients share, so each thread that
        # sends has a client of its own.
        self._local = threading.local()

    def _client(self) -> SendGridAPIClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = SendGridAPIClient(api_key=self._api_key, host=self._host)
        return client

    def _envelope(self, row: dict, bodies: Bodies) -> dict:
        return {
            "from": self._from,
            "reply_to": self._reply_to,
            "subject": bodies.subject,
            "content": [
                {"type": "text/plain", "value": bodies.text},
                {"type": "text/html", "value": bodies.html},
            ],
            "categories": [row["type"]],
        }

    def single(self, row: dict, bodies: Bodies) -> dict:
        """The mail/send body of one email: text/plain before text/html, category = type,
        custom_args with the log id, its headers and attachments."""
        message = self._envelope(row, bodies)
        message["personalizations"] = [{"to": [{"email": row["to"]}]}]
        message["custom_args"] = {"email_log_id": str(row["_id"])}
        if row.get("headers"):
            message["headers"] = dict(row["headers"])
        if row.get("attachments"):
            message["attachments"] = [_attachment(a) for a in row["attachments"]]
        return message

    def personalized(self, rows: list[dict], template: Bodies) -> dict:
        """The mail/send body of rows sharing a Template: one personalization per row with its
        substitutions (HTML-escaped for the HTML), headers and email_log_id."""
        message = self._envelope(rows[0], template)
        message["personalizations"] = [
            {
                "to": [{"email": row["to"]}],
                "substitutions": substitutions(row["values"]),
                "custom_args": {"email_log_id": str(row["_id"])},
                **({"headers": dict(row["headers"])} if row.get("headers") else {}),
            }
            for row in rows
        ]
        return message

    def _redact(self, text: str) -> str:
        text = text[:ERROR_TEXT_LIMIT]
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def post(self, message: dict) -> Outcome:
        """Send one mail/send request; classify the result (429/5xx/network: retry; other 4xx:
        failed)."""
        try:
            response = self._client().client.mail.send.post(
                request_body=message, timeout=self._timeout
            )
        except HTTPError as exc:
            body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else ""
            error = self._redact(f"HTTP {exc.status_code}: {body}".strip())
            if exc.status_code == 429:
                retry_at = _rate_limit_reset(exc.headers)
                return Outcome("retry", error=error, retry_at=retry_at, status=429)
            if exc.status_code >= 500:
                return Outcome("retry", error=error, status=exc.status_code)
            return Outcome("failed", error=error, status=exc.status_code)
        except (OSError, http.client.HTTPException) as exc:
            # Timeouts, refused or reset connections. After a timeout the request may have
            # reached SendGrid: the one case where a retry can duplicate an email (README).
            return Outcome("retry", error=self._redact(f"{type(exc).__name__}: {exc}"))
        return Outcome("sent", message_id=response.headers.get("X-Message-Id"), status=202)


class DegradedProvider:
    """No SENDGRID_API_KEY: every email is rendered and kept as `skipped`."""

    name = "none"
    counts_attempts = False

    def single(self, row: dict, bodies: Bodies) -> dict:
        """Nothing is sent."""
        return {}

    def personalized(self, rows: list[dict], template: Bodies) -> dict:
        """Nothing is sent."""
        return {}

    def post(self, message: dict) -> Outcome:
        """Keep the rows as skipped."""
        return Outcome("skipped")


def _attachment(stored: dict) -> dict:
    return {
        "content": base64.b64encode(stored["content"].encode()).decode(),
        "filename": stored["filename"],
        "type": stored["type"],
        "disposition": "attachment",
    }


def _rate_limit_reset(headers) -> datetime | None:
    raw = headers.get("X-RateLimit-Reset") if headers is not None else None
    try:
        reset = datetime.fromtimestamp(int(float(raw)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return min(reset, clock.now() + MAX_RATE_LIMIT_WAIT)


def get_provider():
    """The configured provider; without a key, the degraded one (warned once per process)."""
    global _warned_degraded
    config = current_app.config
    if config.get("SENDGRID_API_KEY"):
        return SendGridProvider(config)
    with _warned_lock:
        if not _warned_degraded:
            _warned_degraded = True
            log.warning(
                "SENDGRID_API_KEY is not set: emails are rendered and kept as 'skipped' "
                "(see /dev/emails in development); nothing is sent"
            )
    return DegradedProvider()
