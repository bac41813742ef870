"""Email jobs: deliver a batch, catch the outbox up, and the sends of the original system
(a job per email, for scripts and operators; the flows use app.email.send)."""

import uuid
from datetime import datetime, timedelta

from rq import get_current_job

from app.email import delivery, outbox, send


def deliver_emails_task(email_log_ids: list[str]) -> dict:
    """Deliver a batch of outbox rows (one row is a batch of one); see app.email.delivery."""
    return delivery.deliver(email_log_ids)


def catch_up_emails_task(now: str | None = None, grace_s: float | None = None) -> dict:
    """Re-enqueue overdue pending rows and chase leases (delivery.catch_up); `grace_s` 0 when
    no job can be in flight for them (a worker starting, Redis restored)."""
    moment = datetime.fromisoformat(now) if now else None
    if grace_s is None:
        return delivery.catch_up(moment)
    return delivery.catch_up(moment, grace=timedelta(seconds=grace_s))


def _deliver_now(result: dict) -> dict:
    if result["status"] == "pending":
        result["delivery"] = delivery.deliver([result["id"]])
    return result


def send_email_task(email_type: str, to_email: str, **context) -> dict:
    """The generic send of the original system: render, log under
    `context["idempotency_key"]` (default `job:<rq job id>`, so a retried job never sends twice),
    deliver in this job."""
    key = context.pop("idempotency_key", None)
    if not key:
        job = get_current_job()
        key = f"job:{job.id if job is not None else uuid.uuid4().hex}"
    recipient = outbox.recipient_for_address(to_email, context.pop("user_name", None))
    return _deliver_now(
        outbox.queue_to_recipient(email_type, key, recipient, context, enqueue=False)
    )


def send_welcome_email_task(user_id: str, verify_url: str | None = None) -> dict:
    """Queue and deliver the welcome email of a user."""
    with outbox.delivery_held():
        return _deliver_now(send.send_welcome(user_id, verify_url))


def send_phase_transition_email_task(user_id: str, meeting_id: str | None = None) -> dict:
    """Queue and deliver the move-to-tracking email."""
    with outbox.delivery_held():
        return _deliver_now(send.send_phase_transition(user_id, meeting_id))
