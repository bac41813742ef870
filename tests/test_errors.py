"""Every error is the one JSON error shape with the right status."""

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.bodies import raw_body
from app.errors import Conflict
from app.extensions import api


class EchoSchema(Schema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


def _test_blueprint() -> Blueprint:
    blp = Blueprint("errors_probe", __name__, url_prefix="/api/v1/probe")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    def echo(body):
        return body

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @blp.route("/conflict", methods=["POST"])
    def conflict():
        raise Conflict("Already there.", code="email_taken")

    @blp.route("/raw", methods=["POST"])
    @raw_body(max_bytes=1024 * 1024)
    def raw():
        from flask import request

        return {"bytes": len(request.get_data())}

    return blp


@pytest.fixture
def probe(app):
    api.register_blueprint(_test_blueprint())
    return app.test_client()


def assert_error(response, status, code):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_unknown_route_is_404(probe):
    assert_error(probe.get("/api/v1/nowhere"), 404, "not_found")


def test_wrong_method_is_405_with_allow(probe):
    response = probe.delete("/api/v1/probe/echo")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_body_over_64_kib_is_413(probe):
    big = '{"email": "a@b.co", "name": "' + "x" * (64 * 1024) + '"}'
    response = probe.post("/api/v1/probe/echo", data=big, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_raw_body_view_takes_up_to_its_own_limit(probe):
    response = probe.post("/api/v1/probe/raw", data=b"x" * (200 * 1024))
    assert response.status_code == 200
    assert response.get_json() == {"bytes": 200 * 1024}
    too_big = probe.post("/api/v1/probe/raw", data=b"x" * (1024 * 1024 + 1))
    assert_error(too_big, 413, "payload_too_large")


def test_non_json_content_type_is_415(probe):
    response = probe.post("/api/v1/probe/echo", data="email=a@b.co", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400_invalid_json(probe):
    response = probe.post("/api/v1/probe/echo", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_json")


def test_validation_is_422_with_fields(probe):
    response = probe.post("/api/v1/probe/echo", json={"email": "nope", "name": ""})
    error = assert_error(response, 422, "validation_error")
    assert set(error["details"]["fields"]) == {"email", "name"}
    assert error["details"]["fields"]["email"] == ["Not a valid email address."]


def test_unknown_field_is_422(probe):
    response = probe.post(
        "/api/v1/probe/echo", json={"email": "a@b.co", "name": "Ada", "is_admin": True}
    )
    error = assert_error(response, 422, "validation_error")
    assert "is_admin" in error["details"]["fields"]


def test_operator_object_is_422_not_a_query(probe):
    response = probe.post("/api/v1/probe/echo", json={"email": {"$ne": None}, "name": "Ada"})
    error = assert_error(response, 422, "validation_error")
    assert "email" in error["details"]["fields"]


def test_json_that_is_not_an_object_is_422(probe):
    response = probe.post("/api/v1/probe/echo", json=["a", "b"])
    assert_error(response, 422, "validation_error")


def test_api_error_keeps_its_code(probe):
    assert_error(probe.post("/api/v1/probe/conflict"), 409, "email_taken")


def test_unexpected_exception_is_500_without_trace(probe, caplog):
    response = probe.get("/api/v1/probe/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert error["details"] == {}
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret internals" in str(logged[0].exc_info[1])


def test_valid_request_passes(probe):
    response = probe.post("/api/v1/probe/echo", json={"email": "a@b.co", "name": "Ada"})
    assert response.status_code == 200
    assert response.get_json() == {"email": "a@b.co", "name": "Ada"}
