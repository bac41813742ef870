"""rq-dashboard, the OpenAPI document and docs UI, CORS and the proxy settings."""

import base64

import pytest


def _basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def dashboard(make_app):
    return make_app(RQ_DASHBOARD_USERNAME="ops", RQ_DASHBOARD_PASSWORD="s3cret-pass").test_client()


def test_dashboard_requires_basic_auth(dashboard):
    response = dashboard.get("/admin/rq/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert dashboard.get("/admin/rq/", headers=_basic("ops", "wrong")).status_code == 401


def test_dashboard_shows_our_queues(dashboard, app, redis_conn):
    from app import queue as job_queue

    with app.app_context():
        job_queue.enqueue("app.jobs.maintenance.health_check")
    response = dashboard.get("/admin/rq/", headers=_basic("ops", "s3cret-pass"))
    assert response.status_code == 200
    queues = dashboard.get("/admin/rq/0/data/queues.json", headers=_basic("ops", "s3cret-pass"))
    assert queues.status_code == 200
    names = {q["name"] for q in queues.get_json()["queues"]}
    assert "default" in names


def test_dashboard_not_mounted_without_credentials(client):
    assert client.get("/admin/rq/").status_code == 404


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/health/ready" in spec["paths"]
    assert set(spec["paths"]["/api/v1/unsubscribe"]) == {"get", "post"}
    assert "204" in spec["paths"]["/api/v1/webhooks/sendgrid"]["post"]["responses"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    # The documented error is the one JSON shape the API answers with.
    assert spec["components"]["schemas"]["Error"]["properties"] == {
        "error": {"$ref": "#/components/schemas/ErrorDetail"}
    }


def test_docs_ui_uses_packaged_assets(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "http" not in page.split("<body>")[0].replace('href="/', "")
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert client.get(f"/api/v1/docs/assets/{asset}").status_code == 200


def test_cors_allows_configured_origin_only(make_app):
    client = make_app(CORS_ORIGINS=["https://app.goalgetter.example"]).test_client()
    allowed = client.options(
        "/api/v1/health",
        headers={
            "Origin": "https://app.goalgetter.example",
            "Access-Control-Request-Method": "GET",
        },
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.goalgetter.example"
    other = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_proxy_hops_decide_client_ip_and_scheme(make_app):
    from flask import request

    app = make_app(TRUSTED_PROXY_HOPS=1)

    @app.route("/api/v1/whoami")
    def whoami():
        return {"ip": request.remote_addr, "scheme": request.scheme}

    response = app.test_client().get(
        "/api/v1/whoami",
        headers={"X-Forwarded-For": "1.1.1.1, 2.2.2.2", "X-Forwarded-Proto": "https"},
    )
    # Only the hop the router appended is trusted; the client-supplied one is not.
    assert response.get_json() == {"ip": "2.2.2.2", "scheme": "https"}
