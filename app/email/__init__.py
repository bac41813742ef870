"""Transactional email: one record per type (`types`), rendering, the outbox seam, delivery
through SendGrid, unsubscribe and the Event Webhook. Flows call the functions of `send`."""

# Every status an email_log row can have.
ROW_STATUSES = ("pending", "sending", "sent", "failed", "skipped", "suppressed", "opted_out")
# A row's own parts of its email (its Template is shared); suppressed and opted-out rows keep
# none of them.
BODY_FIELDS = ("values", "headers", "attachments")
