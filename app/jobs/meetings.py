"""Meeting jobs: statuses (every 5 minutes), reminder sweep (hourly), one reminder."""

from datetime import UTC, datetime, timedelta

from app import clock
from app.email.delivery import catch_up
from app.ids import parse_id
from app.jobs.table import single_run
from app.meetings import reminders
from app.meetings.service import update_statuses


@single_run
def update_meeting_statuses_task(now=None) -> dict:
    """Transitions and next meetings, then the reminder and outbox catch-up."""
    moment = clock.resolve(now)
    statuses = update_statuses(moment)
    sent = reminders.sweep(moment)
    emails = catch_up(moment)
    return {"status": "ok", **statuses, "reminders": sent, "emails": emails}


def recover_lost_jobs_task(now=None) -> dict:
    """After Redis lost its data: re-arm the exact-time reminders of upcoming meetings, run
    the status and reminder sweeps, and re-enqueue every pending email at once."""
    moment = clock.resolve(now)
    armed = reminders.rearm_upcoming(moment)
    statuses = update_statuses(moment)
    sent = reminders.sweep(moment)
    emails = catch_up(moment, grace=timedelta(0))
    return {"status": "ok", "rearmed": armed, **statuses, "reminders": sent, "emails": emails}


@single_run
def send_meeting_reminders_task(now=None) -> dict:
    """The hourly sweep: every reminder inside its window, neither sent nor leased."""
    return {"status": "ok", "reminders": reminders.sweep(clock.resolve(now))}


def send_due_reminders_task(kind: str, due_epoch: int, now=None) -> dict:
    """The exact-time job of every `kind` reminder due at that second (meetings that moved or
    were cancelled are not among them)."""
    due = datetime.fromtimestamp(due_epoch, UTC)
    sent = reminders.send_due(kind, due, clock.resolve(now))
    return {"status": "ok", "kind": kind, "due": clock.isoformat(due), "sent": sent}


def send_meeting_reminder_task(meeting_id: str, kind: str, start_epoch: int, now=None) -> dict:
    """One meeting's reminder: the exact-time job of earlier versions, kept so such jobs still
    waiting in Redis after a deploy run (a no-op if the meeting moved or was cancelled)."""
    start = datetime.fromtimestamp(start_epoch, UTC)
    result = reminders.send(parse_id(meeting_id, "meeting"), kind, start, clock.resolve(now))
    return {"status": result, "meeting_id": meeting_id, "kind": kind}
