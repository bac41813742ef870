"""iCalendar (RFC 5545/5546, built with `icalendar`) for meetings: the invites of meeting
emails and the user's subscribed feed. Both describe a meeting with the same event (UID for
life, its SEQUENCE, UTC times), so a calendar app that has both sees one event."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vDuration, vText

from app import clock

PRODID = "-//GoalGetter//Coach meetings//EN"
# method -> (attachment type, file name); no charset parameter (SendGrid rejects it).
ATTACHMENT = {
    "REQUEST": ("text/calendar; method=REQUEST", "invite.ics"),
    "CANCEL": ("text/calendar; method=CANCEL", "cancel.ics"),
}


def meeting_uid(meeting_id: str) -> str:
    """The UID a meeting keeps for life, so updates and cancellations replace the same event."""
    domain = current_app.config["FROM_EMAIL"].rpartition("@")[2] or "goalgetter.example"
    return f"meeting-{meeting_id}@{domain}"


def _address(email: str, name: str, **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(name)
    for key, value in params.items():
        address.params[key.replace("_", "-")] = vText(value)
    return address


def _event(meeting: dict, recipient: dict, cancelled: bool, stamp: datetime) -> Event:
    config = current_app.config
    start = meeting["scheduled_at"].astimezone(UTC)
    end = start + timedelta(minutes=meeting["duration_minutes"])
    event = Event()
    event.add("uid", meeting_uid(str(meeting["_id"])))
    event.add("sequence", int(meeting.get("sequence", 0)))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", "GoalGetter coaching session")
    event.add(
        "description",
        f"Your coaching session with {config['COACH_NAME']}. "
        f"Open GoalGetter when it starts: {config['FRONTEND_URL']}/meetings",
    )
    event.add("location", f"{config['FRONTEND_URL']}/meetings")
    event.add("url", f"{config['FRONTEND_URL']}/meetings")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(config["FROM_EMAIL"], config["FROM_NAME"]))
    event.add(
        "attendee",
        _address(
            recipient["email"],
            recipient["name"],
            role="REQ-PARTICIPANT",
            partstat="NEEDS-ACTION",
            rsvp="FALSE",
        ),
    )
    return event


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def build_ics(meeting: dict, recipient: dict, method: str) -> str:
    """The ICS text for `meeting`: METHOD REQUEST (invite or update) or CANCEL."""
    calendar = _calendar()
    calendar.add("method", method)
    calendar.add_component(_event(meeting, recipient, method == "CANCEL", clock.now()))
    return calendar.to_ical().decode()


def revised_at(meeting: dict) -> datetime:
    """When the meeting was last changed in a way its event shows (booked, moved, cancelled)."""
    return meeting.get("updated_at") or meeting["created_at"]


def build_feed(meetings: list[dict], recipient: dict, refresh: timedelta) -> str:
    """A subscribed calendar of `meetings` (no METHOD: it is published, not an invitation);
    each DTSTAMP is the meeting's last revision, so the same meetings give the same bytes."""
    calendar = _calendar()
    calendar.add("name", "GoalGetter coaching")
    calendar.add("x-wr-calname", "GoalGetter coaching")
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh).to_ical().decode())
    for meeting in meetings:
        cancelled = meeting.get("status") == "cancelled"
        calendar.add_component(_event(meeting, recipient, cancelled, revised_at(meeting)))
    return calendar.to_ical().decode()


def ics_attachment(meeting: dict, recipient: dict, method: str) -> dict:
    """The attachment as stored in `email_log` (plain ICS text; the provider encodes it)."""
    content_type, filename = ATTACHMENT[method]
    return {
        "filename": filename,
        "type": content_type,
        "content": build_ics(meeting, recipient, method),
    }
