"""SendGrid's Event Webhook, signed with a key pair the test generates."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.db import get_db
from app.email import outbox
from tests.email_support import T0, make_user, row
from tests.webhook_support import URL
from tests.webhook_support import signed as _signed


def _post(app, body: bytes, headers: dict):
    return app.test_client().post(URL, data=body, headers=headers)


def _sent_email(app, run_worker, user):
    with app.app_context():
        queued = outbox.queue_email("welcome", f"welcome:{user['_id']}", str(user["_id"]), {})
    run_worker(app)
    with app.app_context():
        return row(queued["id"])


def test_a_signed_bounce_is_applied_and_the_next_mail_is_suppressed(hook_app, key_pair, run_worker):
    with hook_app.app_context():
        user = make_user(email="ada@example.com")
    sent = _sent_email(hook_app, run_worker, user)
    events = [
        {
            "email": "Ada@Example.com",
            "event": "delivered",
            "timestamp": int(T0.timestamp()),
            "email_log_id": str(sent["_id"]),
            "sg_event_id": "e1",
        },
        {
            "email": "ada@example.com",
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 mailbox does not exist",
            "timestamp": int(T0.timestamp()) + 5,
            "email_log_id": str(sent["_id"]),
            "sg_event_id": "e2",
        },
    ]
    body = json.dumps(events).encode()
    response = _post(hook_app, body, _signed(key_pair[0], body))
    assert response.status_code == 204
    with hook_app.app_context():
        stored = row(sent["_id"])
        assert [e["event"] for e in stored["events"]] == ["delivered", "bounce"]
        assert stored["events"][1]["reason"] == "550 5.1.1 mailbox does not exist"
        assert get_db().users.find_one({"_id": user["_id"]})["email_status"] == "bounced"
        after = outbox.queue_email(
            "password_reset", "password-reset:x", str(user["_id"]), {"reset_url": "https://r"}
        )
        assert after["status"] == "suppressed"
    # SendGrid re-posting the same batch does not duplicate the events.
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    with hook_app.app_context():
        assert len(row(sent["_id"])["events"]) == 2


def test_events_match_by_sg_message_id_without_a_log_id(hook_app, key_pair, run_worker):
    with hook_app.app_context():
        user = make_user(email="bo@example.com")
    sent = _sent_email(hook_app, run_worker, user)
    assert sent["provider_message_id"] == "msg0001"
    body = json.dumps(
        [
            {
                "email": "bo@example.com",
                "event": "open",
                "timestamp": int(T0.timestamp()),
                "sg_message_id": "msg0001.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
            },
            {"email": "nobody@example.com", "event": "delivered", "sg_message_id": "unknown.1"},
        ]
    ).encode()
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    with hook_app.app_context():
        assert [e["event"] for e in row(sent["_id"])["events"]] == ["open"]


def test_a_message_id_shared_by_a_fan_outs_rows_finds_the_row_of_the_events_address(
    hook_app, key_pair
):
    # One personalized request is one X-Message-Id for all its recipients.
    with hook_app.app_context():
        rows = [
            {"key": f"fan:{n}", "to": f"r{n}@example.com", "status": "sent", "events": []}
            for n in range(3)
        ]
        for stored in rows:
            stored.update(created_at=T0, provider_message_id="batch01")
        get_db().email_log.insert_many(rows)
    body = json.dumps(
        [
            {
                "email": "R1@example.com",
                "event": "open",
                "timestamp": int(T0.timestamp()),
                "sg_message_id": "batch01.filterdrecv-1.0",
            }
        ]
    ).encode()
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    with hook_app.app_context():
        events = {r["to"]: [e["event"] for e in row(r["_id"])["events"]] for r in rows}
    assert events == {"r0@example.com": [], "r1@example.com": ["open"], "r2@example.com": []}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"event": "spamreport"}, {"email_status": "complained"}),
        ({"event": "unsubscribe"}, {"email_notifications": False}),
        ({"event": "group_unsubscribe"}, {"email_notifications": False}),
        ({"event": "dropped", "reason": "Bounced Address"}, {"email_status": "bounced"}),
        ({"event": "dropped", "reason": "Spam Reporting Address"}, {"email_status": "complained"}),
        ({"event": "dropped", "reason": "Unsubscribed Address"}, {"email_notifications": False}),
        ({"event": "deferred", "response": "try later"}, {}),
        ({"event": "delivered"}, {}),
    ],
)
def test_user_level_effects_apply_without_a_matching_row(hook_app, key_pair, event, expected):
    with hook_app.app_context():
        user = make_user(email="cy@example.com")
    body = json.dumps([{**event, "email": "CY@example.com", "timestamp": 1}]).encode()
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    with hook_app.app_context():
        stored = get_db().users.find_one({"_id": user["_id"]})
    unchanged = {"email_status": "ok", "email_notifications": True}
    assert {k: stored[k] for k in unchanged} == {**unchanged, **expected}


def test_a_bounce_does_not_downgrade_a_complaint(hook_app, key_pair):
    with hook_app.app_context():
        user = make_user(email="dee@example.com", email_status="complained")
    body = json.dumps([{"event": "bounce", "email": "dee@example.com"}]).encode()
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    with hook_app.app_context():
        assert get_db().users.find_one({"_id": user["_id"]})["email_status"] == "complained"


def _bounce_body() -> bytes:
    return json.dumps([{"event": "bounce", "email": "ada@example.com"}]).encode()


def _assert_refused(response):
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "webhook_signature_invalid"


def test_unsigned_tampered_malformed_and_stale_requests_are_refused(hook_app, key_pair):
    private = key_pair[0]
    with hook_app.app_context():
        user = make_user(email="ada@example.com")
    body = _bounce_body()
    _assert_refused(_post(hook_app, body, {"Content-Type": "application/json"}))
    tampered = body.replace(b"ada@", b"eve@")
    _assert_refused(_post(hook_app, tampered, _signed(private, body)))
    for signature in ("not base64 at all!", base64.b64encode(b"short").decode(), ""):
        headers = {**_signed(private, body), "X-Twilio-Email-Event-Webhook-Signature": signature}
        _assert_refused(_post(hook_app, body, headers))
    headers = {**_signed(private, body), "X-Twilio-Email-Event-Webhook-Timestamp": "yesterday"}
    _assert_refused(_post(hook_app, body, headers))
    stale = int(T0.timestamp()) - 601
    _assert_refused(_post(hook_app, body, _signed(private, body, stale)))
    other_key = ec.generate_private_key(ec.SECP256R1())
    _assert_refused(_post(hook_app, body, _signed(other_key, body)))
    with hook_app.app_context():
        assert get_db().users.find_one({"_id": user["_id"]})["email_status"] == "ok"
    # Nine minutes old is still fine.
    fresh = int(T0.timestamp()) - 540
    assert _post(hook_app, body, _signed(private, body, fresh)).status_code == 204


def test_signed_garbage_is_a_400_not_a_500(hook_app, key_pair):
    for body in (b"not json", b'{"event": "bounce"}', b"[1, 2]"):
        response = _post(hook_app, body, _signed(key_pair[0], body))
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] in ("invalid_json", "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 3000 + b"]" * 3000,
        b'[{"event": "bounce", "email": "a@b.co", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}]",
        b'[{"event": "processed", "email": "a@b.co", "n": ' + b"9" * 5000 + b"}]",
        b'[{"event": "processed", "email": "a@b.co", "reason": "\\ud800"}]',
        b'[{"event": "processed", "email": "a@b.co\\u0000"}]',
    ],
    ids=["nested-3000", "nested-in-event", "5000-digits", "lone-surrogate", "nul"],
)
def test_signed_hostile_bodies_are_a_400_in_the_shape(hook_app, key_pair, body):
    response = _post(hook_app, body, _signed(key_pair[0], body))
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["error"]["code"] in ("invalid_json", "bad_request")


def test_bodies_up_to_one_mib_are_accepted_and_larger_ones_refused(hook_app, key_pair):
    event = {"event": "processed", "email": "x@example.com", "pad": "x" * 900}
    events = [event] * 1000  # about 0.95 MiB
    body = json.dumps(events).encode()
    assert len(body) < 1024 * 1024
    assert _post(hook_app, body, _signed(key_pair[0], body)).status_code == 204
    big = json.dumps([event] * 1200).encode()
    response = _post(hook_app, big, _signed(key_pair[0], big))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_without_a_key_the_webhook_is_disabled(make_app):
    app = make_app(SENDGRID_WEBHOOK_PUBLIC_KEY=None)
    response = app.test_client().post(URL, data=b"[]", headers={"Content-Type": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "webhook_disabled"
