"""One well-formed request per route, with real ids and signed tokens, for the outage
sweeps: each request reaches the code behind its guards. `seed` builds the ids through the API
itself; `calls` names every route the app has (the sweeps check that)."""

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from app.db import get_db
from app.email.outbox import with_bodies
from app.email.tokens import make_unsubscribe_token

BOUND_S = 10
PASSWORD = "a-long-password"
METRICS_TOKEN = "metrics-token-for-the-outage-drill"
UNAVAILABLE = {(503, "service_unavailable")}


@dataclass
class Call:
    method: str
    path: str
    body: object = None
    auth: str | None = "access"
    # (status, error code or None) the route may answer with MongoDB down.
    allowed: set = field(default_factory=lambda: set(UNAVAILABLE))
    raw: bytes | None = None
    headers: dict = field(default_factory=dict)
    prefix: str = "/api/v1"


def calls(ids: dict) -> dict[str, Call]:
    """Every route by endpoint, with what it may answer while MongoDB is down."""
    future = {"scheduled_at": "2099-03-01T10:00:00Z", "duration_minutes": 30}
    goal, meeting, email, job = ids["goal"], ids["meeting"], ids["email"], ids["job"]
    no_db_ok = {(200, None)}
    return {
        "health.health": Call("GET", "/health", auth=None, allowed=no_db_ok),
        # Readiness reports the outage: its own body, not the error shape.
        "health.ready": Call("GET", "/health/ready", auth=None, allowed={(503, None)}),
        "api-docs.openapi_json": Call("GET", "/openapi.json", auth=None, allowed=no_db_ok),
        "api-docs.openapi_swagger_ui": Call("GET", "/docs", auth=None, allowed=no_db_ok),
        "docs_assets.static": Call(
            "GET", "/docs/assets/swagger-ui.css", auth=None, allowed=no_db_ok
        ),
        "metrics.metrics": Call(
            "GET",
            "/metrics",
            auth=None,
            prefix="",
            allowed=no_db_ok,
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        ),
        # Google sign-in is not configured here: its 503 needs no database either.
        "auth.google_start": Call(
            "GET", "/auth/google", auth=None, allowed={(503, "google_not_configured")}
        ),
        "auth.google_token": Call(
            "POST",
            "/auth/google",
            {"id_token": "x.y.z"},
            auth=None,
            allowed={(503, "google_not_configured")},
        ),
        "auth.google_callback": Call(
            "GET", "/auth/google/callback?code=c&state=s", auth=None, allowed={(302, None)}
        ),
        "auth.signup": Call(
            "POST",
            "/auth/signup",
            {"email": "new@example.com", "password": PASSWORD, "name": "New"},
            auth=None,
        ),
        "auth.login": Call(
            "POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}, auth=None
        ),
        "auth.refresh": Call("POST", "/auth/refresh", auth="refresh"),
        "auth.logout": Call("POST", "/auth/logout", {"refresh_token": ids["refresh"]}),
        "auth.change_password": Call(
            "POST", "/auth/password", {"current_password": PASSWORD, "new_password": PASSWORD}
        ),
        "auth.request_password_reset": Call(
            "POST", "/auth/password-reset", {"email": "ada@example.com"}, auth=None
        ),
        "auth.confirm_password_reset": Call(
            "POST",
            "/auth/password-reset/confirm",
            {"token": ids["reset_token"], "new_password": PASSWORD},
            auth=None,
        ),
        "auth.verify_email": Call(
            "GET", f"/auth/verify-email?token={ids['verify_token']}", auth=None
        ),
        "auth.resend_verification": Call("POST", "/auth/verify-email/resend"),
        "users.me": Call("GET", "/users/me"),
        "users.update_me": Call("PATCH", "/users/me", {"name": "Ada L"}),
        "users.delete_me": Call("DELETE", "/users/me", {"password": PASSWORD}),
        "users.change_phase": Call("POST", "/users/me/phase", {"phase": "tracking"}),
        "users.get_notifications": Call("GET", "/users/me/notifications"),
        "users.update_notifications": Call(
            "PATCH", "/users/me/notifications", {"meeting_reminders": False}
        ),
        "calendar.feed_urls": Call("GET", "/users/me/calendar"),
        "calendar.rotate_feed": Call("POST", "/users/me/calendar/rotate"),
        "calendar.feed_ics": Call("GET", f"/calendar/{ids['feed_secret']}.ics", auth=None),
        "goals.create_goal": Call("POST", "/goals", {"title": "Run", "milestones": ["5k"]}),
        "goals.list_goals": Call("GET", "/goals"),
        "goals.update_goal": Call("PATCH", f"/goals/{goal}", {"title": "Run far"}),
        "goals.delete_goal": Call("DELETE", f"/goals/{goal}"),
        "goals.achieve_milestone": Call("POST", f"/goals/{goal}/milestones/0/achieve"),
        "meetings.list_meetings": Call("GET", "/meetings"),
        "meetings.create_meeting": Call("POST", "/meetings", future),
        "meetings.reschedule": Call(
            "PATCH", f"/meetings/{meeting}", {"scheduled_at": "2099-04-01T10:00:00Z"}
        ),
        "meetings.cancel": Call("POST", f"/meetings/{meeting}/cancel"),
        "chat.access": Call("GET", "/chat/access"),
        "chat.history": Call("GET", "/chat/history"),
        "chat.send": Call("POST", "/chat/send", {"message": "Hello coach"}),
        "admin.list_emails": Call("GET", "/admin/emails"),
        "admin.get_email": Call("GET", f"/admin/emails/{email}"),
        "admin.retry_email": Call("POST", f"/admin/emails/{email}/retry"),
        "admin.retry_emails": Call("POST", "/admin/emails/retry", {"type": "welcome"}),
        "admin.get_job": Call("GET", f"/admin/jobs/{job}"),
        "admin.run_job": Call("POST", "/admin/jobs/health-check"),
        "email.unsubscribe_page": Call(
            "GET", f"/unsubscribe?token={ids['unsubscribe']}", auth=None
        ),
        "email.unsubscribe_one_click": Call(
            "POST",
            f"/unsubscribe?token={ids['unsubscribe']}",
            auth=None,
            raw=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "email.save_preferences": Call(
            "POST",
            f"/unsubscribe/preferences?token={ids['unsubscribe']}",
            auth=None,
            raw=b"progress=on",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "email.sendgrid_events": Call("POST", "/webhooks/sendgrid", auth=None, raw=b""),
    }


def send(root: str, call: Call, tokens: dict, webhook_headers) -> tuple:
    """(status, body, content type, seconds) of `call` over HTTP to `root`."""
    data, headers = request_parts(call, tokens, webhook_headers)
    request = urllib.request.Request(
        root + call.prefix + call.path, data=data, headers=headers, method=call.method
    )
    opener = urllib.request.build_opener(NoRedirect)
    started = time.monotonic()
    try:
        with opener.open(request, timeout=BOUND_S + 5) as response:
            status, body = response.status, response.read()
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        status, body, kind = error.code, error.read(), error.headers.get_content_type()
    return status, body, kind, time.monotonic() - started


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect instead of following it."""

    def redirect_request(self, *args, **kwargs):
        return None


def error_code(body: bytes, kind: str):
    """The error code of a JSON error body, else None."""
    if kind != "application/json" or not body:
        return None
    document = json.loads(body)
    return document.get("error", {}).get("code") if isinstance(document, dict) else None


def _link_token(text: str, path: str) -> str:
    return re.search(re.escape(path) + r"\?token=([\w.\-]+)", text).group(1)


def seed(app, post, get) -> tuple[dict, dict]:
    """(ids, tokens) of an admin with a goal, a meeting, a job and two emails, made through
    `post(path, body, headers)` and `get(path, headers)` returning (status, JSON)."""
    status, session = post(
        "/auth/signup", {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}, {}
    )
    assert status == 201, session
    with app.app_context():
        get_db().users.update_one({"email": "ada@example.com"}, {"$set": {"is_admin": True}})
    access = {"Authorization": f"Bearer {session['access_token']}"}
    assert post("/auth/password-reset", {"email": "ada@example.com"}, {})[0] == 202
    goal = post("/goals", {"title": "Run", "milestones": ["5k"]}, access)[1]["id"]
    meeting = post("/meetings", {"scheduled_at": "2099-01-20T10:00:00Z"}, access)[1]["id"]
    job = post("/admin/jobs/health-check", None, access)[1]["job_id"]
    feed = get("/users/me/calendar", access)[1]
    with app.app_context():
        rows = {row["type"]: with_bodies(row) for row in get_db().email_log.find()}
        unsubscribe = make_unsubscribe_token(session["user"]["id"])
        # A failed row, so the re-drive routes do their work.
        get_db().email_log.update_one(
            {"_id": rows["welcome"]["_id"]}, {"$set": {"status": "failed"}}
        )
    ids = {
        "goal": goal,
        "meeting": meeting,
        "job": job,
        "email": str(rows["welcome"]["_id"]),
        "refresh": session["refresh_token"],
        "verify_token": _link_token(rows["welcome"]["text"], "/auth/verify-email"),
        "reset_token": _link_token(rows["password_reset"]["text"], "/reset-password"),
        "feed_secret": re.search(r"/calendar/([^/]+)\.ics", json.dumps(feed)).group(1),
        "unsubscribe": unsubscribe,
    }
    return ids, {"access": session["access_token"], "refresh": session["refresh_token"]}


def login(client) -> dict:
    """A fresh session of the seeded admin through a working app's test client."""
    response = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.data
    return response.get_json()


def assert_every_route_named(app, table: dict) -> None:
    """The table has a call for each endpoint of `app` (Flask's unused static aside)."""
    routed = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert routed == set(table), f"routes without a call: {routed - set(table)}"


def request_parts(call: "Call", tokens: dict, webhook_headers) -> tuple[bytes | None, dict]:
    """(body bytes, headers) of `call`."""
    headers = dict(call.headers)
    if call.auth:
        headers["Authorization"] = f"Bearer {tokens[call.auth]}"
    data = call.raw
    if call.path == "/webhooks/sendgrid":
        data = json.dumps([{"event": "bounce", "email": "ada@example.com"}]).encode()
        headers.update(webhook_headers(data))
    elif data is None and call.body is not None:
        data = json.dumps(call.body).encode()
        headers["Content-Type"] = "application/json"
    return data, headers
