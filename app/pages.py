"""HTML pages for the browser routes (verify email, unsubscribe, dev outbox), errors included."""

from flask import current_app, render_template

from app.errors import APIError

HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(template: str, status: int = 200, **values):
    """Render `pages/<template>.html` (with the frontend and support links) as a response."""
    values.setdefault("frontend_url", current_app.config["FRONTEND_URL"])
    values.setdefault("support_email", current_app.config["SUPPORT_EMAIL"])
    return render_template(f"pages/{template}.html", **values), status, HTML


def message_page(title: str, message: str, **values):
    """A page with a title, a sentence and an optional link."""
    return page("message", title=title, message=message, **values)


def error_page(error: APIError):
    """An APIError as an HTML page with its status and code."""
    return page(
        "error",
        error.status,
        title="This link doesn't work",
        message=error.message,
        code=error.code,
    )
