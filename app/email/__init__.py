"""Transactional email: rendering, the outbox seam, delivery through SendGrid (DESIGN 6, 7).

Flows call `app.email.outbox.queue_email`; everything else in this package serves it.
"""

# type -> whether it respects the user's `email_notifications` (DESIGN 7's table).
EMAIL_TYPES: dict[str, bool] = {
    "welcome": False,
    "meeting_invitation": True,
    "meeting_cancellation": True,
    "meeting_reminder": True,
    "goal_milestone": True,
    "phase_transition": True,
    "password_reset": False,
}


# Every status an email_log row can have (DESIGN 4).
ROW_STATUSES = ("pending", "sending", "sent", "failed", "skipped", "suppressed", "opted_out")


def respects_preferences(email_type: str) -> bool:
    """Whether mail of this type stops when the user turns notifications off."""
    return EMAIL_TYPES[email_type]
