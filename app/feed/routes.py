"""GET /users/me/calendar, POST /users/me/calendar/rotate, and the feed itself at
GET /calendar/<secret>.ics (no auth header: calendar apps cannot send one; the secret is)."""

import hashlib

from flask import make_response, request
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app import apidoc
from app.extensions import limiter
from app.feed import service
from app.http import API_PREFIX, BEARER
from app.limits import secret_key

blp = Blueprint("calendar", __name__, url_prefix=API_PREFIX, description="Calendar feed")
# Calendar apps poll every few minutes at most; keyed on the secret, not the (shared) IP.
FEED_LIMIT = "30/minute"
URL_EXAMPLE = {
    "url": "webcal://api.goalgetter.example/api/v1/calendar/"
    "65f1c0ffee0000000000abcdQ2FsZW5kYXItZmVlZC1zZWNyZXQtZXhhbXBsZS0wMTIzNDU.ics",
    "https_url": "https://api.goalgetter.example/api/v1/calendar/"
    "65f1c0ffee0000000000abcdQ2FsZW5kYXItZmVlZC1zZWNyZXQtZXhhbXBsZS0wMTIzNDU.ics",
}
FEED_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nPRODID:-//GoalGetter//Coach meetings//EN\r\nVERSION:2.0\r\n"
    "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nBEGIN:VEVENT\r\n"
    "UID:meeting-65f1c0ffee0000000000beef@goalgetter.example\r\nSEQUENCE:1\r\n"
    "DTSTART:20261206T090000Z\r\nDTEND:20261206T093000Z\r\nSTATUS:CONFIRMED\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
NOT_FOUND = apidoc.error_response(
    "not_found: no feed has this secret (unknown, malformed or rotated)",
    "not_found",
    service.FeedNotFound.message,
)


class FeedUrlsSchema(Schema):
    """The user's calendar feed URLs."""

    url = fields.String(
        required=True, metadata={"format": "uri", "description": "webcal:// for calendar apps"}
    )
    https_url = fields.String(
        required=True, metadata={"format": "uri", "description": "The same feed over HTTPS"}
    )


@blp.route("/users/me/calendar", methods=["GET"])
@jwt_required()
@blp.response(200, FeedUrlsSchema, example=URL_EXAMPLE)
@blp.doc(
    security=BEARER,
    operationId="getCalendarFeed",
    summary="The URL of the user's calendar feed (the same until rotated)",
    responses=apidoc.SIGNED_IN,
)
def feed_urls():
    """The secret feed URLs to subscribe to."""
    return service.urls(current_user)


@blp.route("/users/me/calendar/rotate", methods=["POST"])
@jwt_required()
@blp.response(200, FeedUrlsSchema, example=URL_EXAMPLE)
@blp.doc(
    security=BEARER,
    operationId="rotateCalendarFeed",
    summary="A new feed secret: the old URL answers 404 from now on",
    responses={**apidoc.SIGNED_IN, "413": apidoc.TOO_LARGE},
)
def rotate_feed():
    """Rotate the feed secret; returns the new URLs."""
    return service.rotate(current_user["_id"])


def _feed_key() -> str:
    return secret_key("calendar", (request.view_args or {}).get("secret", ""))


@blp.route("/calendar/<secret>.ics", methods=["GET"])
@limiter.limit(FEED_LIMIT, key_func=_feed_key)
@blp.doc(
    operationId="getCalendarFeedIcs",
    summary="The calendar feed (text/calendar), for calendar apps; the secret is the auth",
    description="One VEVENT per meeting from 30 days back on, with the UID and SEQUENCE of "
    "its invitations (cancelled ones STATUS:CANCELLED), times in UTC, REFRESH-INTERVAL "
    "PT1H. Answers 304 to a conditional GET whose If-None-Match (or If-Modified-Since) "
    "still holds. Limited to 30 requests a minute per secret.",
    parameters=[
        {
            "in": "path",
            "name": "secret",
            "required": True,
            "schema": {"type": "string", "pattern": service.SECRET_PATTERN.pattern},
        },
        {"in": "header", "name": "If-None-Match", "schema": {"type": "string"}},
        {"in": "header", "name": "If-Modified-Since", "schema": {"type": "string"}},
    ],
    responses={
        "200": {
            "description": "The feed",
            "content": {"text/calendar": {"schema": {"type": "string"}, "example": FEED_EXAMPLE}},
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Last-Modified": {"schema": {"type": "string"}},
            },
        },
        "304": {"description": "Not modified since the ETag or date given"},
        "404": NOT_FOUND,
        **apidoc.COMMON,
    },
)
def feed_ics(secret):
    """The user's meetings as a subscribed calendar."""
    body, changed = service.feed(service.owner(secret))
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.last_modified = changed
    return response.make_conditional(request)
