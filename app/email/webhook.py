"""SendGrid Event Webhook: signature check, events onto their `email_log` rows (the timeline,
app/email/timeline.py), user effects."""

import binascii
import logging
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId
from cryptography.exceptions import UnsupportedAlgorithm
from flask import current_app
from sendgrid.helpers.eventwebhook import EventWebhook

from app import clock, json_input
from app.db import get_db
from app.email import timeline
from app.errors import APIError, BadRequest

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE = timedelta(minutes=10)
# The event fields kept on the row (no PII beyond what the row already holds).
KEPT_FIELDS = ("event", "reason", "type", "status", "response", "sg_event_id", "url", "attempt")


class WebhookDisabled(APIError):
    status, code = 404, "webhook_disabled"
    message = "The SendGrid event webhook is not configured."


class SignatureInvalid(APIError):
    status, code = 403, "webhook_signature_invalid"
    message = "The webhook signature is missing, invalid or too old."


def verify(body: bytes, signature: str | None, timestamp: str | None) -> None:
    """Check the ECDSA signature over timestamp + raw body and its age; raise otherwise."""
    public_key = current_app.config.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not public_key:
        raise WebhookDisabled()
    if not signature or not timestamp:
        raise SignatureInvalid()
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureInvalid() from exc
    if abs(clock.now() - sent_at) > MAX_AGE:
        raise SignatureInvalid("The webhook timestamp is more than 10 minutes old.")
    # A key that does not load is our misconfiguration: a 500 (SendGrid retries), not a 403.
    verifier = EventWebhook(public_key)
    try:
        valid = verifier.verify_signature(body.decode("utf-8"), signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError, UnsupportedAlgorithm):
        # A malformed signature or body is a forged request, not a server error.
        valid = False
    if not valid:
        raise SignatureInvalid()


def parse(body: bytes) -> list[dict]:
    """The event list of a verified body (400 when it is not one)."""
    try:
        events = json_input.loads(body)
    except json_input.InvalidJSON as exc:
        raise BadRequest("The webhook body is not JSON.", code="invalid_json") from exc
    except json_input.JSONRejected as exc:
        raise BadRequest("The webhook body is not a batch of events.") from exc
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise BadRequest("The webhook body must be a JSON array of event objects.")
    return events


def _entry(event: dict) -> dict:
    entry = {name: event[name] for name in KEPT_FIELDS if isinstance(event.get(name), str | int)}
    try:
        entry["at"] = datetime.fromtimestamp(int(event["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        entry["at"] = clock.now()
    return entry


def _row_filter(event: dict) -> dict | None:
    log_id = event.get("email_log_id")
    if isinstance(log_id, str):
        try:
            return {"_id": ObjectId(log_id)}
        except InvalidId:
            pass
    message_id, email = event.get("sg_message_id"), event.get("email")
    if isinstance(message_id, str) and message_id and isinstance(email, str):
        # sg_message_id is the X-Message-Id we stored plus a ".filter…" suffix. The requests
        # of a fan-out share one X-Message-Id: the address tells its rows apart.
        return {"to": email.strip().lower(), "provider_message_id": message_id.split(".", 1)[0]}
    return None


def _user_effect(event: dict) -> dict | None:
    """The `users` update an event calls for, if any."""
    name = event.get("event")
    reason = str(event.get("reason") or "").lower()
    if name == "bounce" or (name == "dropped" and "bounced address" in reason):
        return {"email_status": "bounced"}
    if name == "spamreport" or (name == "dropped" and "spam reporting address" in reason):
        return {"email_status": "complained"}
    if name in ("unsubscribe", "group_unsubscribe") or (
        name == "dropped" and "unsubscribed address" in reason
    ):
        return {"email_notifications": False}
    return None


def _row_key(row_filter: dict) -> tuple:
    return tuple(sorted(row_filter.items()))


def apply_events(events: list[dict]) -> dict:
    """Add each event to its row's timeline and apply its user-level effect; returns counts."""
    db = get_db()
    by_row: dict[tuple, tuple[dict, list[dict]]] = {}
    for event in events:
        row_filter = _row_filter(event)
        if row_filter is not None:
            by_row.setdefault(_row_key(row_filter), (row_filter, []))[1].append(_entry(event))
    matched = sum(
        timeline.record(db.email_log, row_filter, entries)
        for row_filter, entries in by_row.values()
    )
    effects = 0
    for event in events:
        effect = _user_effect(event)
        email = event.get("email")
        if effect is None or not isinstance(email, str):
            continue
        user_filter: dict = {"email": email.strip().lower()}
        if effect.get("email_status") == "bounced":
            # A complaint is the stronger signal; a later bounce does not replace it.
            user_filter["email_status"] = {"$ne": "complained"}
        effects += db.users.update_one(user_filter, {"$set": effect}).modified_count
    log.info(
        "webhook: %d event(s), %d row(s) matched, %d user change(s)", len(events), matched, effects
    )
    return {"events": len(events), "matched": matched, "user_changes": effects}
