"""The unsubscribe link (RFC 8058 one-click POST and the preference centre it opens) and
POST /api/v1/webhooks/sendgrid.

CSRF: these routes read no cookie or session. Their only authority is the signed token in the
URL, which a forged cross-site form cannot know; so a CSRF token would add nothing. The pages
are sent with `Cache-Control: no-store`; app.security_headers adds `Referrer-Policy:
no-referrer` (the token must not leak to the sites they link to) and refuses framing.
"""

from flask import make_response, request, url_for
from flask_smorest import Blueprint

from app import apidoc
from app.bodies import raw_body
from app.email import service, types, webhook
from app.email.schemas import EXAMPLE, OneClickSchema, PreferencesFormSchema, PreferencesSchema
from app.email.tokens import TokenTampered
from app.errors import APIError, NotFound
from app.extensions import limiter
from app.http import API_PREFIX
from app.limits import secret_key
from app.pages import error_page, page

blp = Blueprint(
    "email",
    __name__,
    url_prefix=API_PREFIX,
    description="Unsubscribe links, the preference centre and SendGrid's Event Webhook",
)
WEBHOOK_BODY_LIMIT = 1024 * 1024
# Keyed on the token: mail providers POST from shared IPs.
UNSUBSCRIBE_LIMIT = "10/minute"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PRIVATE_PAGE = {"Cache-Control": "no-store"}
TOKEN_PARAMETER = {
    "in": "query",
    "name": "token",
    "required": True,
    "description": "The signed token of the unsubscribe link (from List-Unsubscribe)",
    "schema": {"type": "string", "maxLength": 512},
}
HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}


class TokenTamperedError(APIError):
    status, code = 400, "token_tampered"
    message = "This unsubscribe link is not valid. Use the link from the email as it arrived."


class FormRequired(APIError):
    status, code = 415, "unsupported_media_type"
    message = "Send the preferences as a form (application/x-www-form-urlencoded)."


TAMPERED = apidoc.error_response(
    "token_tampered (an HTML page for browsers)",
    TokenTamperedError.code,
    TokenTamperedError.message,
)


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _token() -> str:
    return request.args.get("token") or request.form.get("token", "")


def _private(rendered):
    body, status, headers = rendered
    return make_response(body, status, {**headers, **PRIVATE_PAGE})


def _centre_page(token: str, saved: bool = False):
    shown = service.centre(token)
    return _private(
        page(
            "unsubscribe",
            title="Your email preferences",
            saved=saved,
            one_click_action=url_for("email.unsubscribe_one_click", token=token),
            save_action=url_for("email.save_preferences", token=token),
            **shown,
        )
    )


@blp.route("/unsubscribe", methods=["GET"])
@blp.doc(
    operationId="showPreferenceCentre",
    summary="The preference centre of an unsubscribe link (HTML); changes nothing",
    description="An HTML page with the categories as checkboxes (saved by a form POST to "
    "`/unsubscribe/preferences`) and a one-click button for the link's own category. Works "
    "without JavaScript.",
    parameters=[TOKEN_PARAMETER],
    responses={
        "200": {"description": "The preference centre (HTML)", "content": HTML_PAGE},
        "400": {"description": "token_tampered (HTML page)", "content": HTML_PAGE},
        **apidoc.COMMON,
    },
)
def unsubscribe_page():
    """The preference centre (400 page for a tampered token)."""
    token = request.args.get("token", "")
    try:
        return _centre_page(token)
    except TokenTampered:
        return _private(error_page(TokenTamperedError()))


def _unsubscribe_token_key() -> str:
    return secret_key("unsubscribe", _token())


@blp.route("/unsubscribe", methods=["POST"], endpoint="unsubscribe_one_click")
@limiter.limit(UNSUBSCRIBE_LIMIT, key_func=_unsubscribe_token_key)
@blp.doc(
    operationId="unsubscribeOneClick",
    summary="RFC 8058 one-click unsubscribe: turns off the link's own category",
    description="Mail providers POST `List-Unsubscribe=One-Click` as a form. The body is not "
    "checked further: RFC 8058 senders must never be refused. Links of mail sent before "
    "categories existed turn off every optional category.",
    parameters=[TOKEN_PARAMETER],
    requestBody={
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
                },
                "example": {"List-Unsubscribe": "One-Click"},
            }
        },
    },
    responses={
        "200": {
            "description": "Unsubscribed (idempotent); an HTML page for browsers",
            "content": {
                "application/json": {
                    "schema": OneClickSchema,
                    "example": {"status": "unsubscribed", "category": "meeting_reminders"},
                },
                **HTML_PAGE,
            },
        },
        "400": TAMPERED,
        "413": apidoc.TOO_LARGE,
        **apidoc.COMMON,
    },
)
@raw_body()
def unsubscribe_one_click():
    """Turn off the token's category (idempotent)."""
    try:
        category = service.unsubscribe(_token())
    except TokenTampered:
        if _wants_html():
            return _private(error_page(TokenTamperedError()))
        raise TokenTamperedError() from None
    if _wants_html():
        return _private(
            page(
                "unsubscribed",
                title="Unsubscribed",
                category_label=types.CATEGORY_LABELS[category] if category else None,
                centre_url=url_for("email.unsubscribe_page", token=_token()),
            )
        )
    return OneClickSchema().dump({"status": "unsubscribed", "category": category})


@blp.route("/unsubscribe/preferences", methods=["POST"], endpoint="save_preferences")
@limiter.limit(UNSUBSCRIBE_LIMIT, key_func=_unsubscribe_token_key)
@blp.arguments(PreferencesFormSchema, location="form", content_type=FORM_TYPES[0])
@blp.doc(
    operationId="savePreferenceCentre",
    summary="Save the preference centre's form (checked boxes on, the others off)",
    parameters=[TOKEN_PARAMETER],
    responses={
        "200": {
            "description": "The stored preferences; the centre again (HTML) for browsers",
            "content": {
                "application/json": {"schema": PreferencesSchema, "example": EXAMPLE},
                **HTML_PAGE,
            },
        },
        "400": TAMPERED,
        "404": apidoc.error_response(
            "not_found: the account no longer exists", "not_found", "The user was not found."
        ),
        "413": apidoc.TOO_LARGE,
        "415": apidoc.error_response(
            "unsupported_media_type: not a form", FormRequired.code, FormRequired.message
        ),
        **apidoc.COMMON,
    },
)
@raw_body()
def save_preferences(form):
    """Store the checkboxes of the preference centre."""
    if request.mimetype not in FORM_TYPES:
        raise FormRequired()
    token = _token()
    try:
        saved = service.save(token, form)
    except TokenTampered:
        if _wants_html():
            return _private(error_page(TokenTamperedError()))
        raise TokenTamperedError() from None
    if saved is None:
        raise NotFound("The user was not found.")
    if _wants_html():
        return _centre_page(token, saved=True)
    return PreferencesSchema().dump(saved)


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
