"""Email providers: SendGrid through its official client, or the degraded mode without a key.

A provider turns one leased `email_log` row into an Outcome; it never touches the database.
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
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    ReplyTo,
    To,
)

from app import clock

log = logging.getLogger(__name__)

# A 429's reset header further ahead than this is not trusted (a clock or proxy error).
MAX_RATE_LIMIT_WAIT = timedelta(hours=1)
ERROR_TEXT_LIMIT = 500

_warned_lock = threading.Lock()
_warned_degraded = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one send: sent, retry (transient), failed (permanent) or skipped."""

    kind: str
    message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


class SendGridProvider:
    """SendGrid v3 mail/send with a request timeout (the client has none by default)."""

    name = "sendgrid"
    counts_attempts = True

    def __init__(self, config):
        self._api_key = config["SENDGRID_API_KEY"]
        self._timeout = config["SENDGRID_TIMEOUT_S"]
        self._from = (config["FROM_EMAIL"], config["FROM_NAME"])
        self._reply_to = config["SUPPORT_EMAIL"]
        # One client per provider (per delivery batch): python_http_client mutates its shared
        # header dict, so a client is never shared across threads.
        self._client = SendGridAPIClient(api_key=self._api_key, host=config["SENDGRID_API_HOST"])

    def message(self, row: dict) -> dict:
        """The mail/send request body for a row: text/plain before text/html, category = type,
        custom_args with the log id, unsubscribe headers and attachments as stored."""
        mail = Mail(
            from_email=From(*self._from),
            to_emails=To(row["to"]),
            subject=row["subject"],
            plain_text_content=row["text"],
            html_content=row["html"],
        )
        mail.reply_to = ReplyTo(self._reply_to)
        mail.category = Category(row["type"])
        mail.custom_arg = CustomArg("email_log_id", str(row["_id"]))
        for name, value in (row.get("headers") or {}).items():
            mail.header = Header(name, value)
        for attachment in row.get("attachments") or []:
            mail.attachment = Attachment(
                FileContent(base64.b64encode(attachment["content"].encode()).decode()),
                FileName(attachment["filename"]),
                FileType(attachment["type"]),
                Disposition("attachment"),
            )
        return mail.get()

    def _redact(self, text: str) -> str:
        text = text[:ERROR_TEXT_LIMIT]
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def send(self, row: dict) -> Outcome:
        """Send one row; classify the result (429/5xx/network: retry; other 4xx: failed)."""
        try:
            response = self._client.client.mail.send.post(
                request_body=self.message(row), timeout=self._timeout
            )
        except HTTPError as exc:
            body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else ""
            error = self._redact(f"HTTP {exc.status_code}: {body}".strip())
            if exc.status_code == 429:
                return Outcome("retry", error=error, retry_at=_rate_limit_reset(exc.headers))
            if exc.status_code >= 500:
                return Outcome("retry", error=error)
            return Outcome("failed", error=error)
        except (OSError, http.client.HTTPException) as exc:
            # Timeouts, refused or reset connections. After a timeout the request may have
            # reached SendGrid: the one case where a retry can duplicate an email (README).
            return Outcome("retry", error=self._redact(f"{type(exc).__name__}: {exc}"))
        return Outcome("sent", message_id=response.headers.get("X-Message-Id"))


class DegradedProvider:
    """No SENDGRID_API_KEY: every email is rendered and kept as `skipped`."""

    name = "none"
    counts_attempts = False

    def send(self, row: dict) -> Outcome:
        """Keep the row as skipped."""
        return Outcome("skipped")


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
