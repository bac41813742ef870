"""The dev outbox at /dev/emails: development only."""

import pytest

from app.email import outbox
from devtools.launcher import banner
from tests.email_support import T0, make_user
from tests.production import STRONG_SECRETS


@pytest.fixture
def dev_app(make_app, frozen_clock):
    frozen_clock.set_now(T0)
    return make_app(APP_ENV="development", SENDGRID_API_KEY=None, COACH_NAME="Coach Momentum")


def test_the_outbox_lists_every_email_and_shows_one_as_a_mail_client_would(dev_app, run_worker):
    with dev_app.app_context():
        user = make_user(email="ada@example.com", name="<b>Ada</b>")
        quiet = make_user(email="quiet@example.com", email_notifications=False)
        shown = outbox.queue_email("welcome", "welcome:ada", str(user["_id"]), {})
        outbox.queue_email("phase_transition", "phase:quiet", str(quiet["_id"]), {})
    run_worker(dev_app)
    client = dev_app.test_client()
    listing = client.get("/dev/emails")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "2 email(s)" in page
    assert "welcome:ada" in page and "skipped" in page
    assert "phase:quiet" in page and "opted_out" in page
    detail = client.get(f"/dev/emails/{shown['id']}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    # The email's HTML sits in a sandboxed frame, escaped into srcdoc; its text beside it.
    assert "<iframe sandbox srcdoc=" in html
    assert "&lt;!DOCTYPE html&gt;" in html
    assert "<b>Ada</b>" not in html
    assert "Welcome to GoalGetter, &lt;b&gt;Ada&lt;/b&gt;!" in html
    assert "Coach Momentum" in html
    assert client.get("/dev/emails/not-an-id").status_code == 404
    assert client.get("/dev/emails/" + "0" * 24).status_code == 404


@pytest.mark.parametrize("app_env", ["test", "production"])
def test_the_outbox_does_not_exist_elsewhere(make_app, app_env):
    overrides = {"APP_ENV": app_env}
    if app_env == "production":
        overrides.update(
            MONGO_URL="mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=100",
            **STRONG_SECRETS,
        )
    client = make_app(**overrides).test_client()
    response = client.get("/dev/emails")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_banner_shows_the_dev_outbox_in_development_only():
    env = {
        "APP_ENV": "development",
        "RQ_DASHBOARD_USERNAME": "admin",
        "RQ_DASHBOARD_PASSWORD": "pw",
        "MONGO_URL": "mongodb://127.0.0.1:1/goalgetter",
        "REDIS_URL": "redis://127.0.0.1:2/0",
    }
    settings = {"PORT": 5000}
    shown = banner(settings, env, {}, 3.0)
    assert "dev outbox     http://127.0.0.1:5000/dev/emails" in shown
    assert "/dev/emails" not in banner(settings, {**env, "APP_ENV": "test"}, {}, 3.0)
