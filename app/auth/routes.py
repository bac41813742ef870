"""/api/v1/auth: signup, login, tokens, verification, passwords, Google sign-in."""

from urllib.parse import urlencode

from flask import current_app, redirect, request, url_for
from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_smorest import Blueprint

from app import apidoc
from app.auth import google, service, tokens
from app.auth.schemas import (
    GoogleCallbackArgs,
    GoogleSessionSchema,
    GoogleTokenSchema,
    LoginSchema,
    LogoutSchema,
    PasswordChangeSchema,
    PasswordResetConfirmSchema,
    PasswordResetSchema,
    SessionSchema,
    SignupSchema,
    TokensSchema,
)
from app.errors import APIError, ServiceUnavailable
from app.extensions import limiter
from app.http import API_PREFIX, BEARER
from app.pages import error_page, message_page
from app.passwords import PasswordIncorrect
from app.users.service import EmailTaken
from app.users.service import to_json as user_json

blp = Blueprint(
    "auth", __name__, url_prefix=f"{API_PREFIX}/auth", description="Accounts and tokens"
)


@blp.route("/signup", methods=["POST"])
@limiter.limit("5/minute")
@blp.arguments(
    SignupSchema,
    example={
        "email": "ada@example.com",
        "password": "a long passphrase",
        "name": "Ada",
        "timezone": "Europe/Berlin",
    },
)
@blp.response(201, SessionSchema)
@blp.doc(responses=apidoc.errors(EmailTaken))
def signup(body):
    """Create an account; the welcome email carries the email-verification link."""
    user, pair = service.signup(body["email"], body["password"], body["name"], body.get("timezone"))
    return {"user": user_json(user), **pair}


@blp.route("/login", methods=["POST"])
@limiter.limit("10/minute")
@blp.arguments(LoginSchema, example={"email": "ada@example.com", "password": "a long passphrase"})
@blp.response(200, SessionSchema)
@blp.doc(responses=apidoc.errors(service.InvalidCredentials))
def login(body):
    """Sign in with email and password."""
    user, pair = service.login(body["email"], body["password"])
    return {"user": user_json(user), **pair}


@blp.route("/refresh", methods=["POST"])
@limiter.limit("30/minute")
@jwt_required(refresh=True)
@blp.response(200, TokensSchema)
@blp.doc(security=BEARER)
def refresh():
    """Rotate the refresh token (sent as the bearer token) for a new pair."""
    return tokens.rotate(get_jwt(), current_user)


@blp.route("/logout", methods=["POST"])
@jwt_required(verify_type=False)
@blp.arguments(LogoutSchema, required=False, example={"everywhere": False})
@blp.response(204)
@blp.doc(security=BEARER)
def logout(body):
    """Revoke the presented token (and `refresh_token`; `everywhere` ends every session)."""
    body = body or {}
    service.logout(get_jwt(), current_user, body.get("refresh_token"), body["everywhere"])


@blp.route("/verify-email", methods=["GET"])
@blp.doc(
    parameters=[{"in": "query", "name": "token", "required": True, "schema": {"type": "string"}}],
    responses={
        "200": apidoc.html_page("The email is verified: a page with a link to the app"),
        "400": apidoc.html_page("verification_token_invalid: a page saying the link is bad"),
    },
)
def verify_email():
    """The link in the welcome email: marks the email verified (an HTML page, errors too)."""
    try:
        service.verify_email(request.args.get("token", ""))
    except APIError as error:
        return error_page(error)
    return message_page(
        "Email verified",
        "Your email is verified. Let's go crush those goals!",
        link=current_app.config["FRONTEND_URL"],
        link_text="Open GoalGetter",
    )


@blp.route("/verify-email/resend", methods=["POST"])
@limiter.limit("5/minute")
@jwt_required()
@blp.response(202)
@blp.doc(security=BEARER)
def resend_verification():
    """Send a new verification link (links live 7 days)."""
    service.resend_verification(current_user)


@blp.route("/password", methods=["POST"])
@limiter.limit("10/minute")
@jwt_required()
@blp.arguments(
    PasswordChangeSchema,
    example={"current_password": "a long passphrase", "new_password": "another long one"},
)
@blp.response(200, TokensSchema)
@blp.doc(security=BEARER, responses=apidoc.errors(PasswordIncorrect))
def change_password(body):
    """Change the password; every other session ends, this one gets a fresh pair."""
    return service.change_password(current_user, body["current_password"], body["new_password"])


@blp.route("/password-reset", methods=["POST"])
@limiter.limit("5/minute")
@blp.arguments(PasswordResetSchema, example={"email": "ada@example.com"})
@blp.response(202)
def request_password_reset(body):
    """Email a reset link if the account exists (always 202)."""
    service.request_password_reset(body["email"])


@blp.route("/password-reset/confirm", methods=["POST"])
@limiter.limit("10/minute")
@blp.arguments(
    PasswordResetConfirmSchema,
    example={"token": "the token from the emailed link", "new_password": "another long one"},
)
@blp.response(204)
@blp.doc(responses=apidoc.errors(service.ResetTokenInvalid))
def confirm_password_reset(body):
    """Set a new password from a reset link (single use); all sessions end."""
    service.confirm_password_reset(body["token"], body["new_password"])


@blp.route("/google", methods=["GET"])
@limiter.limit("10/minute")
@blp.response(302)
@blp.doc(responses=apidoc.errors(google.GoogleNotConfigured, ServiceUnavailable))
def google_start():
    """Redirect to Google's consent page (state + PKCE kept server-side, 10 minutes)."""
    redirect_uri = url_for("auth.google_callback", _external=True)
    return redirect(google.authorization_url(redirect_uri))


@blp.route("/google/callback", methods=["GET"])
@limiter.limit("10/minute")
@blp.arguments(GoogleCallbackArgs, location="query")
@blp.response(302)
def google_callback(args):
    """Google returns here; redirect to the frontend with tokens, or with #error=<code>."""
    frontend = current_app.config["FRONTEND_URL"]
    try:
        claims = google.finish_code_flow(args.get("state"), args.get("code"), args.get("error"))
        user, _created = google.sign_in(claims)
        pair = tokens.token_pair(user, fresh=True)
    except APIError as error:
        return redirect(f"{frontend}/#{urlencode({'error': error.code})}")
    fragment = urlencode(
        {
            "access_token": pair["access_token"],
            "refresh_token": pair["refresh_token"],
            "token_type": "Bearer",
        }
    )
    return redirect(f"{frontend}/#{fragment}")


@blp.route("/google", methods=["POST"])
@limiter.limit("10/minute")
@blp.arguments(GoogleTokenSchema, example={"id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"})
@blp.response(200, GoogleSessionSchema)
@blp.doc(
    responses=apidoc.errors(
        google.GoogleTokenInvalid, EmailTaken, google.GoogleNotConfigured, ServiceUnavailable
    )
)
def google_token(body):
    """Sign in with an ID token from Google Identity Services."""
    claims = google.verify_id_token(body["id_token"])
    user, created = google.sign_in(claims)
    return {"user": user_json(user), "created": created, **tokens.token_pair(user, fresh=True)}
