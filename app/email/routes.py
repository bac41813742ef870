"""GET/POST /api/v1/unsubscribe (RFC 8058 one-click) and POST /api/v1/webhooks/sendgrid."""

from flask import request
from flask_smorest import Blueprint

from app.bodies import raw_body
from app.email import service, webhook
from app.email.tokens import TokenTampered
from app.errors import APIError
from app.extensions import limiter
from app.http import API_PREFIX
from app.pages import error_page, page

blp = Blueprint(
    "email",
    __name__,
    url_prefix=API_PREFIX,
    description="Unsubscribe links and SendGrid's Event Webhook",
)
WEBHOOK_BODY_LIMIT = 1024 * 1024
# Keyed on the token: mail providers POST from shared IPs.
UNSUBSCRIBE_LIMIT = "10/minute"


class TokenTamperedError(APIError):
    status, code = 400, "token_tampered"
    message = "This unsubscribe link is not valid. Use the link from the email as it arrived."


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


@blp.route("/unsubscribe", methods=["GET"])
@blp.doc(
    summary="The unsubscribe page: a button that POSTs; changes nothing by itself",
    responses={
        "200": {"description": "HTML page with an Unsubscribe button"},
        "400": {"description": "HTML page: token_tampered"},
    },
)
def unsubscribe_page():
    """An HTML page with an Unsubscribe button (400 page for a tampered token)."""
    token = request.args.get("token", "")
    try:
        user = service.unsubscribe_target(token)
    except TokenTampered:
        return error_page(TokenTamperedError())
    return page(
        "unsubscribe",
        title="Unsubscribe",
        email=user["email"] if user else None,
        action=request.full_path,
    )


def _unsubscribe_token_key() -> str:
    return "unsubscribe:" + (request.args.get("token") or request.form.get("token", ""))[:256]


@blp.route("/unsubscribe", methods=["POST"], endpoint="unsubscribe_one_click")
@limiter.limit(UNSUBSCRIBE_LIMIT, key_func=_unsubscribe_token_key)
@blp.doc(
    summary="RFC 8058 one-click unsubscribe (form body List-Unsubscribe=One-Click)",
    responses={
        "200": {"description": '{"status": "unsubscribed"} (an HTML page for browsers)'},
        "400": {"description": "token_tampered"},
    },
)
@raw_body()
def unsubscribe_one_click():
    """Turn the token's user's notification emails off (idempotent)."""
    token = request.args.get("token") or request.form.get("token", "")
    try:
        service.unsubscribe(token)
    except TokenTampered:
        if _wants_html():
            return error_page(TokenTamperedError())
        raise TokenTamperedError() from None
    if _wants_html():
        return page("unsubscribed", title="Unsubscribed")
    return {"status": "unsubscribed"}


@blp.route("/webhooks/sendgrid", methods=["POST"])
@blp.doc(
    summary="SendGrid Event Webhook (signed; 404 webhook_disabled without a key)",
    responses={
        "204": {"description": "Events applied"},
        "403": {"description": "webhook_signature_invalid"},
        "404": {"description": "webhook_disabled"},
        "413": {"description": "payload_too_large (over 1 MiB)"},
    },
)
@raw_body(WEBHOOK_BODY_LIMIT)
def sendgrid_events():
    """Verify the signature over timestamp + raw body, then apply the events."""
    body = request.get_data(cache=False)
    webhook.verify(
        body,
        request.headers.get(webhook.SIGNATURE_HEADER),
        request.headers.get(webhook.TIMESTAMP_HEADER),
    )
    webhook.apply_events(webhook.parse(body))
    return "", 204
