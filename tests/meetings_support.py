"""Helpers for the meetings, phase and admin tests: sessions, sent emails, ICS, RQ's schedule."""

import base64
from datetime import datetime

from icalendar import Calendar
from rq.registry import ScheduledJobRegistry

from app.meetings import reminders
from app.queue import QUEUES
from app.reminder_kinds import KINDS
from tests.accounts import bearer, login, make_user


def session(app, client, email="ada@example.com", name="Ada", **fields) -> dict:
    """A user inserted with `fields` and logged in; returns the Authorization header."""
    make_user(app, email=email, name=name, **fields)
    return bearer(login(client, email=email)["access_token"])


def sent(fake_sendgrid, email_type: str) -> list[dict]:
    """The bodies the fake SendGrid received for `email_type`, in order."""
    return [b for b in fake_sendgrid.bodies if b["categories"] == [email_type]]


def recipient(body: dict) -> str:
    """The address a SendGrid body went to."""
    return body["personalizations"][0]["to"][0]["email"]


def calendar_of(body: dict) -> tuple[str, Calendar]:
    """The attachment type and parsed ICS of a meeting email."""
    [attachment] = body["attachments"]
    return attachment["type"], Calendar.from_ical(base64.b64decode(attachment["content"]))


def event_of(body: dict, method: str):
    """The one VEVENT of a meeting email, after checking the ICS method on both levels."""
    content_type, calendar = calendar_of(body)
    assert content_type == f"text/calendar; method={method}"
    assert calendar["METHOD"] == method
    [event] = calendar.walk("VEVENT")
    return event


def scheduled_jobs(connection) -> dict[str, tuple[str, datetime]]:
    """Every job in RQ's scheduled registries: id → (queue, when it is due)."""
    found = {}
    for name in QUEUES:
        registry = ScheduledJobRegistry(name, connection=connection)
        for job_id in registry.get_job_ids():
            found[job_id] = (name, registry.get_scheduled_time(job_id))
    return found


def reminder_job_id(kind: str, start: datetime) -> str:
    """The exact-time job of the `kind` reminders of meetings starting at `start`."""
    return reminders.job_id(kind, start - KINDS[kind].lead)
