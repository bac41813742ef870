"""Security headers on every response, and rq-dashboard's same-origin check."""

import base64
import re

import pytest

from app.security_headers import DASHBOARD_CSP, PAGE_CSP

BASE = "http://localhost"
OPS = {"Authorization": "Basic " + base64.b64encode(b"ops:a-long-dashboard-pass").decode()}


@pytest.fixture
def dashboard_app(make_app):
    return make_app(RQ_DASHBOARD_USERNAME="ops", RQ_DASHBOARD_PASSWORD="a-long-dashboard-pass")


def _assert_headers(response, csp=PAGE_CSP, referrer="same-origin"):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer
    assert response.headers["Content-Security-Policy"] == csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/health", 200),
        ("GET", "/api/v1/users/me", 401),
        ("GET", "/api/v1/nowhere", 404),
        ("POST", "/api/v1/auth/login", 415),
        ("GET", "/api/v1/docs", 200),
        ("GET", "/api/v1/docs/assets/swagger-ui-bundle.js", 200),
        ("GET", "/static/docs-init.js", 200),
        ("GET", "/api/v1/unsubscribe?token=bad", 400),
        ("GET", "/api/v1/auth/verify-email?token=bad", 400),
    ],
)
def test_every_response_has_the_headers(client, method, path, status):
    response = client.open(path, method=method, data=b"not json", content_type="text/plain")
    assert response.status_code == status
    # Pages opened from a link with a token send no referrer at all, even to this site.
    _assert_headers(response, referrer="no-referrer" if "token=" in path else "same-origin")
    assert "Strict-Transport-Security" not in response.headers


def test_a_500_has_the_headers(app):
    @app.route("/api/v1/explode")
    def explode():
        raise RuntimeError("boom")

    response = app.test_client().get("/api/v1/explode")
    assert response.status_code == 500
    _assert_headers(response)


def test_hsts_only_over_https(make_app):
    client = make_app(TRUSTED_PROXY_HOPS=1).test_client()
    over_https = client.get("/api/v1/health", headers={"X-Forwarded-Proto": "https"})
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


def test_the_docs_page_runs_no_inline_script(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert len(scripts) == 3
    assert all('src="' in attributes and not body.strip() for attributes, body in scripts)


def test_the_dashboard_has_its_own_policy(dashboard_app):
    response = dashboard_app.test_client().get("/admin/rq/", headers=OPS)
    assert response.status_code == 200
    _assert_headers(response, DASHBOARD_CSP)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": BASE}, True),
        ({"Referer": f"{BASE}/admin/rq/"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Referer": "https://evil.example/admin/rq/"}, False),
        ({}, False),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/admin/rq/queue/default/queued/empty"),
        ("POST", "/admin/rq/requeue/default"),
        ("GET", "/admin/rq/requeue/default"),
    ],
)
def test_dashboard_state_changes_need_the_same_origin(
    dashboard_app, method, path, headers, allowed
):
    response = dashboard_app.test_client().open(path, method=method, headers={**OPS, **headers})
    if allowed:
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        assert response.get_data(as_text=True) == "Cross-origin request refused."


def test_dashboard_reads_need_no_origin(dashboard_app):
    client = dashboard_app.test_client()
    assert client.get("/admin/rq/0/data/queues.json", headers=OPS).status_code == 200
    assert client.get("/admin/rq/", headers=OPS).status_code == 200
    # Credentials first: a cross-site request without them learns nothing more.
    assert client.post("/admin/rq/requeue/default").status_code == 401
