"""Redis unreachable: every route answers within 10 s with a success (Redis holds only work
in flight, counters and the blocklist; the request goes on) or a 503 in the JSON shape where
it cannot (refresh fails closed, admin jobs), never a 500. The same well-formed requests as
the MongoDB drill (tests/route_calls.py), in process against the session's MongoDB."""

import time

from devtools.services import free_port
from tests import route_calls, webhook_support

# Calls that end the session or remove what later calls use: last, each with a fresh login.
LAST = [
    "goals.delete_goal",
    "meetings.cancel",
    "calendar.rotate_feed",
    "users.change_phase",
    "auth.logout",
    "auth.confirm_password_reset",
    "auth.request_password_reset",
    "auth.change_password",
    "users.delete_me",
]
# The routes that cannot do their work without Redis, and what they answer instead.
NEEDS_REDIS = {
    "admin.run_job": {(503, "service_unavailable")},
    # A revocation that cannot be recorded must not look done.
    "auth.logout": {(503, "service_unavailable")},
    "admin.get_job": {(503, "service_unavailable")},
    "health.ready": {(503, None)},
    "auth.google_start": {(503, "google_not_configured")},
    "auth.google_token": {(503, "google_not_configured")},
    "auth.google_callback": {(302, None)},
}


def _client_calls(client):
    def post(path, body, headers):
        response = client.post("/api/v1" + path, json=body, headers=headers)
        return response.status_code, response.get_json()

    def get(path, headers):
        response = client.get("/api/v1" + path, headers=headers)
        return response.status_code, response.get_json()

    return post, get


def test_every_route_answers_within_10_s_without_redis(make_app):
    private, public = webhook_support.key_pair()
    extra = {"SENDGRID_WEBHOOK_PUBLIC_KEY": public, "METRICS_TOKEN": route_calls.METRICS_TOKEN}
    app = make_app(**extra)
    ids, tokens = route_calls.seed(app, *_client_calls(app.test_client()))
    down = make_app(
        REDIS_URL=f"redis://127.0.0.1:{free_port()}",
        MONGO_DB_NAME=app.config["MONGO_DB_NAME"],
        **extra,
    )
    table = route_calls.calls(ids)
    route_calls.assert_every_route_named(down, table)
    client = down.test_client()
    order = [name for name in table if name not in LAST] + LAST
    wrong = []
    for endpoint in order:
        call = table[endpoint]
        if endpoint in LAST:
            fresh = route_calls.login(app.test_client())
            tokens = {"access": fresh["access_token"], "refresh": fresh["refresh_token"]}
        data, headers = route_calls.request_parts(
            call, tokens, lambda body: webhook_support.signed(private, body)
        )
        started = time.monotonic()
        response = client.open(
            call.prefix + call.path, method=call.method, data=data, headers=headers
        )
        seconds = time.monotonic() - started
        outcome = (response.status_code, route_calls.error_code(response.data, response.mimetype))
        allowed = NEEDS_REDIS.get(endpoint)
        fine = outcome in allowed if allowed else response.status_code < 400
        if seconds >= route_calls.BOUND_S or not fine:
            wrong.append((endpoint, outcome, round(seconds, 1), response.data[:160]))
    assert not wrong, "\n".join(map(str, wrong))
