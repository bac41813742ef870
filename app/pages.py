"""Small HTML pages for the browser routes (verify email, unsubscribe), errors included."""

from flask import current_app, render_template

from app.errors import APIError


def page(title: str, message: str, status: int = 200, **extra):
    """An HTML page response."""
    return render_template("page.html", title=title, message=message, **extra), status


def error_page(error: APIError):
    """An APIError as an HTML page with its status and code."""
    return page(
        "Something is not right",
        error.message,
        error.status,
        code=error.code,
        link=current_app.config["FRONTEND_URL"],
        link_text="Back to GoalGetter",
    )
