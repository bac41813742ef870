"""The web process as production runs it (gunicorn with the Procfile's settings): the
requests gunicorn refuses before the app sees them are answered in the JSON error shape."""

import http.client
import json

import pytest


def _raw(port: int, request: bytes) -> tuple[int, str, dict]:
    """(status, content type, JSON body) of one raw HTTP request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.connect()
    connection.sock.sendall(request)
    response = http.client.HTTPResponse(connection.sock)
    response.begin()
    body = response.read()
    connection.close()
    return response.status, response.getheader("Content-Type"), json.loads(body)


@pytest.fixture
def web(processes):
    stack = processes()
    stack.start("web")
    stack.wait_serving()
    return stack


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"GET /api/v1/health?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
            414,
            "uri_too_long",
        ),
        (
            b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            431,
            "headers_too_large",
        ),
        (
            b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n"
            + b"".join(b"X-H%d: 1\r\n" % n for n in range(120))
            + b"\r\n",
            431,
            "headers_too_large",
        ),
        (b"GET /api/v1/health HTTP/9.9\r\nHost: t\r\n\r\n", 400, "bad_request"),
        (b"G@T /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request"),
    ],
    ids=["url-5000", "header-9000", "120-headers", "bad-version", "bad-method"],
)
def test_gunicorn_refusals_are_in_the_json_shape(web, request_bytes, status, code):
    answered, content_type, body = _raw(web.port, request_bytes)
    assert (answered, content_type) == (status, "application/json"), body
    assert body["error"]["code"] == code
    assert body["error"]["message"] and body["error"]["details"] == {}
    # The worker goes on serving.
    assert web.get("/health")[0] == 200
