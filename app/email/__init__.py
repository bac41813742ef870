"""Transactional email: one record per type (`types`), rendering, the outbox seam, delivery
through SendGrid, unsubscribe and the Event Webhook. Flows call the functions of `send`."""

# Every status an email_log row can have.
ROW_STATUSES = ("pending", "sending", "sent", "failed", "skipped", "suppressed", "opted_out")
