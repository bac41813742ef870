"""Security headers on every response: no sniffing, no framing, no referrer leaving the site,
HSTS over https, and a Content-Security-Policy."""

from flask import Flask, request

# Pages (the docs UI, unsubscribe and verification pages, the dev outbox) load scripts and
# styles from this origin only. Inline <style> blocks and style attributes stay allowed: the
# pages and the emails the outbox shows carry their CSS inline, and Swagger UI sets styles
# from script. Inline scripts never run.
PAGE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
# rq-dashboard's pages are built by inline scripts and underscore templates (compiled with
# `new Function`); its routes sit behind basic auth and a same-origin check.
DASHBOARD_CSP = PAGE_CSP.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'"
)
HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# Nothing of a URL leaves for another site. `same-origin` rather than `no-referrer`, so
# same-origin POSTs keep their Origin header (browsers send `Origin: null` under
# no-referrer), which rq-dashboard's check reads. A URL that carries a token (verify-email,
# unsubscribe) sends no referrer at all, not even to this site.
REFERRER_POLICY = "same-origin"
TOKEN_URL_REFERRER_POLICY = "no-referrer"


def _add_headers(response, dashboard_prefix: str):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault(
        "Referrer-Policy",
        TOKEN_URL_REFERRER_POLICY if "token" in request.args else REFERRER_POLICY,
    )
    on_dashboard = request.path.startswith(f"{dashboard_prefix}/")
    response.headers.setdefault(
        "Content-Security-Policy", DASHBOARD_CSP if on_dashboard else PAGE_CSP
    )
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register_security_headers(app: Flask, dashboard_prefix: str) -> None:
    """Add the headers to every response the app sends (errors and static files included)."""
    app.after_request(lambda response: _add_headers(response, dashboard_prefix))
