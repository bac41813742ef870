"""What the email pipeline counts for /metrics (kept in Redis: app/metrics_store.py), written
where rows change: the outbox when it writes one, delivery when it records an outcome."""

from datetime import datetime

from app.metrics_store import Counter, Histogram, record

EMAILS = Counter(
    "goalgetter_emails_total",
    "Emails by type and what became of them: queued, opted_out, suppressed (row written), "
    "sent, skipped, failed, retried (a delivery attempt's outcome)",
    ("type", "status"),
)
REMINDER_LATENESS = Histogram(
    "goalgetter_reminder_lateness_seconds",
    "Seconds from a reminder's due time to SendGrid accepting it",
    (),
    (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
# A row's status as written by the outbox, and a delivery outcome, as the counter names them.
_STATUS = {"pending": "queued", "retry_scheduled": "retried"}
COUNTED = ("queued", "opted_out", "suppressed", "sent", "skipped", "failed", "retried")


def _status(status: str) -> str | None:
    name = _STATUS.get(status, status)
    return name if name in COUNTED else None


def written(email_type: str, status: str, count: int = 1) -> None:
    """Rows of `email_type` written (or withdrawn) with `status`."""
    name = _status(status)
    if name is not None:
        record(EMAILS.inc(count, type=email_type, status=name))


def delivered(rows: list[dict], outcome: str, now: datetime) -> None:
    """A delivery attempt's outcome for `rows` (delivery's row status or summary word); a sent
    row with a due time (a reminder) also reports how late it went out."""
    name = _status(outcome)
    if name is None or not rows:
        return
    per_type: dict[str, int] = {}
    for row in rows:
        per_type[row["type"]] = per_type.get(row["type"], 0) + 1
    updates = [EMAILS.inc(count, type=t, status=name) for t, count in per_type.items()]
    if name == "sent":
        for row in rows:
            if row.get("due_at") is not None:
                late = max((now - row["due_at"]).total_seconds(), 0)
                updates.append(REMINDER_LATENESS.observe(late))
    record(*updates)
