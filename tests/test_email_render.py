"""What each email looks like on the wire: the exact SendGrid JSON per type (ICS parsed back
with icalendar), escaping, inlined CSS, local times, the preview command."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from app.db import get_db
from app.email import send, types
from app.email.outbox import with_bodies
from app.email.render import render_email
from app.email.samples import sample_recipient
from app.email.tokens import make_unsubscribe_token
from tests.email_support import make_goal, make_meeting, make_user
from tests.email_support import stored as stored_row

# Wednesday 09:00 in New York (EST, UTC-5) is 14:00 UTC.
MEETING_AT = datetime(2031, 1, 15, 14, 0, tzinfo=UTC)


def _preview(email_type: str, variant: str | None, **recipient):
    """One type rendered on its preview data."""
    data = types.get(email_type).sample(variant)
    return render_email(email_type, sample_recipient(**recipient), data)


@pytest.fixture
def ada(email_ctx):
    return make_user(email="ada@example.com", name="Ada", timezone="America/New_York")


def _send(email_type: str, user: dict) -> dict:
    """Queue one email of `email_type` for `user` through the service functions."""
    uid = str(user["_id"])
    meeting = make_meeting(user, MEETING_AT)
    mid = str(meeting["_id"])
    if email_type == "welcome":
        send.send_welcome(uid, "https://api/verify?token=v")
    elif email_type == "password_reset":
        send.send_password_reset(uid, "https://app/reset-password?token=r", "r")
    elif email_type == "goal_milestone":
        send.send_milestone(uid, make_goal(user)["_id"], 0)
    elif email_type == "phase_transition":
        send.send_phase_transition(uid)
    elif email_type == "meeting_invitation":
        send.send_invitation(meeting)
    elif email_type == "meeting_cancellation":
        cancelled = get_db().meetings.find_one_and_update(
            {"_id": meeting["_id"]},
            {"$set": {"status": "cancelled", "sequence": 1}, "$unset": {"slot_taken": ""}},
            return_document=True,
        )
        send.send_cancellation(cancelled)
    else:
        send.send_reminder(mid, uid, "24h", meeting["scheduled_at"])
    stored = stored_row({"type": email_type})
    return {"row": stored, "meeting": meeting}


SUBJECTS = {
    "welcome": "Welcome to GoalGetter, Ada! Your breakthrough starts now",
    "meeting_invitation": "You're booked! Coaching session Wed, Jan 15 at 9:00 AM EST",
    "meeting_cancellation": "Cancelled: your coaching session Wed, Jan 15 at 9:00 AM EST",
    "meeting_reminder": "Coming up in 24 hours: your coaching session at 9:00 AM EST",
    "goal_milestone": "Milestone crushed: 5k!",
    "phase_transition": "You're in tracking mode. Let's make it happen!",
    "password_reset": "Reset your GoalGetter password",
}


@pytest.mark.parametrize("email_type", sorted(types.TYPES))
def test_the_exact_json_sent_for_each_type(ada, email_ctx, fake_sendgrid, run_worker, email_type):
    sent = _send(email_type, ada)
    stored, meeting = sent["row"], sent["meeting"]
    run_worker(email_ctx)
    assert len(fake_sendgrid.bodies) == 1
    body = fake_sendgrid.bodies[0]
    attachments = body.pop("attachments", None)
    expected = {
        "from": {"email": "noreply@goalgetter.example", "name": "GoalGetter"},
        "subject": SUBJECTS[email_type],
        "personalizations": [{"to": [{"email": "ada@example.com"}]}],
        "content": [
            {"type": "text/plain", "value": stored["text"]},
            {"type": "text/html", "value": stored["html"]},
        ],
        "categories": [email_type],
        "custom_args": {"email_log_id": str(stored["_id"])},
        "reply_to": {"email": "help@goalgetter.example"},
    }
    if not types.get(email_type).critical:
        token = make_unsubscribe_token(str(ada["_id"]), types.get(email_type).category)
        expected["headers"] = {
            "List-Unsubscribe": f"<https://api.goalgetter.example/api/v1/unsubscribe?token={token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    assert body == expected
    assert stored["subject"] == SUBJECTS[email_type]
    if email_type not in ("meeting_invitation", "meeting_cancellation"):
        assert attachments is None
        return
    method = "REQUEST" if email_type == "meeting_invitation" else "CANCEL"
    [attachment] = attachments
    content = base64.b64decode(attachment.pop("content"))
    assert attachment == {
        "type": f"text/calendar; method={method}",
        "filename": "invite.ics" if method == "REQUEST" else "cancel.ics",
        "disposition": "attachment",
    }
    calendar = Calendar.from_ical(content)
    assert calendar["METHOD"] == method
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"meeting-{meeting['_id']}@goalgetter.example"
    assert event["SEQUENCE"] == (0 if method == "REQUEST" else 1)
    assert event.decoded("DTSTART") == MEETING_AT
    assert event.decoded("DTEND") == MEETING_AT + timedelta(minutes=30)
    assert event.decoded("DTSTART").tzinfo is not None
    assert b"DTSTART:20310115T140000Z" in content  # UTC on the wire
    assert str(event["ORGANIZER"]) == "mailto:noreply@goalgetter.example"
    assert str(event["ATTENDEE"]) == "mailto:ada@example.com"
    assert str(event["STATUS"]) == ("CONFIRMED" if method == "REQUEST" else "CANCELLED")


def test_an_update_keeps_the_uid_and_carries_its_sequence(ada, email_ctx):
    meeting = make_meeting(ada, MEETING_AT)
    send.send_invitation(meeting)
    moved = get_db().meetings.find_one_and_update(
        {"_id": meeting["_id"]},
        {"$set": {"scheduled_at": MEETING_AT + timedelta(hours=2), "sequence": 1}},
        return_document=True,
    )
    send.send_invitation(moved)
    first, update = map(
        with_bodies, get_db().email_log.find({"type": "meeting_invitation"}).sort("key", 1)
    )
    assert update["subject"] == "Updated: your coaching session is now Wed, Jan 15 at 11:00 AM EST"
    events = [
        Calendar.from_ical(r["attachments"][0]["content"]).walk("VEVENT")[0]
        for r in (first, update)
    ]
    assert events[0]["UID"] == events[1]["UID"]
    assert [e["SEQUENCE"] for e in events] == [0, 1]
    assert events[1].decoded("DTSTART") == MEETING_AT + timedelta(hours=2)


def test_a_24h_reminder_shows_new_york_time_and_zone(email_ctx):
    user = make_user(name="Ada", timezone="America/New_York")
    meeting = make_meeting(user, MEETING_AT)
    send.send_reminder(meeting["_id"], user["_id"], "24h", meeting["scheduled_at"])
    stored = stored_row({"type": "meeting_reminder"})
    for body in (stored["html"], stored["text"]):
        assert "Wednesday, January 15, 2031" in body
        assert "9:00 AM" in body and "EST" in body
        assert "America/New_York" in body
        assert "2:00 PM" not in body  # the UTC wall time is nowhere
    assert "9:00 AM - 9:30 AM EST" in stored["text"]


def test_summer_time_gets_its_own_abbreviation(email_ctx):
    user = make_user(timezone="America/New_York")
    meeting = make_meeting(user, datetime(2031, 7, 15, 13, 0, tzinfo=UTC))
    send.send_reminder(meeting["_id"], user["_id"], "1h", meeting["scheduled_at"])
    stored = stored_row({"type": "meeting_reminder"})
    assert stored["subject"] == "One hour to go! Your coaching session starts at 9:00 AM EDT"
    assert "One hour to go" in stored["text"]


def test_a_script_tag_as_name_is_escaped_in_html(email_ctx):
    name = "<script>alert(1)</script>"
    for email_type, variant in types.previews():
        rendered = render_email(
            email_type, sample_recipient(name=name), types.get(email_type).sample(variant)
        )
        assert "<script" not in rendered.html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
        # Plain text is not HTML: the name reads as typed there.
        assert name in rendered.text


def test_css_is_inlined_and_no_style_element_survives(email_ctx):
    for email_type, variant in types.previews():
        rendered = _preview(email_type, variant)
        assert "<style" not in rendered.html.lower()
        assert 'class="card" style="background-color: #ffffff;' in rendered.html
        assert 'class="button" href=' in rendered.html


def test_the_voice_is_the_configured_coach_with_support_and_frontend_links(email_ctx):
    for email_type, variant in types.previews():
        rendered = _preview(email_type, variant)
        for body in (rendered.html, rendered.text):
            assert "Let's make it happen," in body
            assert "Coach Momentum" in body
            assert "help@goalgetter.example" in body
            assert "https://app.goalgetter.example" in body or email_type in (
                "welcome",
                "password_reset",
            )
            assert "Tony Robbins" not in body
        assert 'href="mailto:help@goalgetter.example"' in rendered.html
        assert "Coach Momentum is GoalGetter's AI coach" in rendered.text


def test_footer_offers_unsubscribe_only_where_preferences_apply(email_ctx):
    for email_type, variant in types.previews():
        rendered = _preview(email_type, variant)
        if not types.get(email_type).critical:
            assert "/api/v1/unsubscribe?token=" in rendered.text
            assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        else:
            assert "unsubscribe" not in rendered.text.lower()
            assert rendered.headers == {}


def test_milestone_progress_and_the_last_milestone(email_ctx):
    user = make_user(name="Ada")
    goal = make_goal(user, titles=("5k", "10k"), achieved=(0,))
    send.send_milestone(user["_id"], goal["_id"], 0)
    first = stored_row({"key": f"milestone:{goal['_id']}:0"})
    assert "1 of 2 milestones achieved" in first["text"]
    assert 'Next up: "10k"' in first["text"]
    # The flow may write achieved_at after queueing: the celebrated one counts regardless.
    send.send_milestone(user["_id"], goal["_id"], 1)
    last = stored_row({"key": f"milestone:{goal['_id']}:1"})
    assert "2 of 2 milestones achieved" in last["text"]
    assert "you achieved your goal!" in last["text"]


@pytest.mark.parametrize(("email_type", "variant"), types.previews())
def test_flask_email_preview_renders_every_type(email_app, email_type, variant):
    args = ["email", "preview", email_type] + (["--variant", variant] if variant else [])
    result = email_app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: ")
    assert "Coach Momentum" in result.output
    html = email_app.test_cli_runner().invoke(args=[*args, "--part", "html"])
    assert html.output.startswith("<!DOCTYPE html>")
    ics = email_app.test_cli_runner().invoke(args=[*args, "--part", "ics"])
    if email_type in ("meeting_invitation", "meeting_cancellation"):
        assert "BEGIN:VCALENDAR" in ics.output
    else:
        assert ics.exit_code != 0 and "no calendar attachment" in ics.output


def test_flask_email_preview_refuses_unknown_types(email_app):
    result = email_app.test_cli_runner().invoke(args=["email", "preview", "newsletter"])
    assert result.exit_code != 0
    assert "newsletter" in result.output
