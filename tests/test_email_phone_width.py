"""Previews are production-shaped (links as long as the real ones, on the configured base
URLs), and no email lets a long run of text (a link with its signed token) widen a 390 px phone
screen: every run longer than a phone line sits in an element that may break it. The
browser's own measurement at 390 px is scripts/render_emails.py --check."""

import re
from html.parser import HTMLParser

import pytest

from app.db import get_db
from app.email import types
from app.email.outbox import with_bodies
from app.email.render import render_email
from app.email.samples import SAMPLE_EMAIL, sample_recipient

# 390 px less the card's padding is about 300 px: some 35 characters of 16 px Helvetica.
PHONE_LINE_CHARS = 30
BREAKS = ("word-break: break-all", "overflow-wrap: anywhere")
VOID = {"br", "img", "meta", "hr", "input", "link", "col", "area", "base", "wbr", "source"}


class Runs(HTMLParser):
    """The long unbroken runs of visible text, each with whether an enclosing element may
    break it."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.runs: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            style = re.sub(r"\s+", " ", dict(attrs).get("style") or "").replace(":", ": ")
            self.stack.append((tag, re.sub(r":\s+", ": ", style)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if any(tag in ("head", "style", "title") for tag, _ in self.stack):
            return
        breakable = any(rule in style for _, style in self.stack for rule in BREAKS)
        for word in data.split():
            if len(word) > PHONE_LINE_CHARS:
                self.runs.append((word, breakable))


def _preview(email_type, variant):
    data = types.get(email_type).sample(variant)
    return render_email(email_type, sample_recipient(), data)


@pytest.mark.parametrize(("email_type", "variant"), types.previews())
def test_no_long_run_can_widen_a_phone_screen(email_ctx, email_type, variant):
    parser = Runs()
    parser.feed(_preview(email_type, variant).html)
    unbreakable = [word for word, breakable in parser.runs if not breakable]
    assert not unbreakable, unbreakable


def test_the_long_links_are_there_to_be_broken(email_ctx):
    """The check above sees the links it is about (it would pass on an empty email)."""
    for email_type in ("welcome", "password_reset"):
        parser = Runs()
        parser.feed(_preview(email_type, None).html)
        assert any("?token=" in word for word, _ in parser.runs), email_type


def _url(text: str, marker: str) -> str:
    return re.search(r"https?://\S*" + re.escape(marker) + r"\?token=[\w.\-]+", text).group(0)


def test_preview_links_are_as_long_as_the_links_users_get(email_app):
    client = email_app.test_client()
    signup = {"email": SAMPLE_EMAIL, "password": "a-long-password", "name": "Samantha"}
    assert client.post("/api/v1/auth/signup", json=signup).status_code == 201
    assert (
        client.post("/api/v1/auth/password-reset", json={"email": SAMPLE_EMAIL}).status_code == 202
    )
    with email_app.app_context():
        sent = {row["type"]: with_bodies(row)["text"] for row in get_db().email_log.find()}
        preview = {name: _preview(name, None).text for name in ("welcome", "password_reset")}
    for email_type, marker in (
        ("welcome", "/auth/verify-email"),
        ("password_reset", "/reset-password"),
    ):
        real, shown = _url(sent[email_type], marker), _url(preview[email_type], marker)
        assert shown.split("?")[0] == real.split("?")[0], (shown, real)
        assert len(shown) == len(real) > 150, (shown, real)
