"""The calendar feed: each user's secret URL, its rotation, and the feed it serves.

The secret in the URL is the user's id followed by HMAC-SHA256(SECRET_KEY, user id + a random
nonce), 43 url-safe characters (256 bits). MongoDB keeps only the nonce: a leaked dump cannot
build a working URL without SECRET_KEY, and the URL can still be shown again (GET
/users/me/calendar). Rotating draws a new nonce, so every older URL stops at once. Rotating
SECRET_KEY ends every feed URL too (and every unsubscribe link), as it should after a leak.
"""

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from bson import ObjectId
from flask import current_app
from pymongo import ReturnDocument

from app import clock
from app.db import get_db
from app.email.calendar import build_feed, revised_at
from app.email.render import recipient_from_user
from app.errors import NotFound
from app.http import API_PREFIX

FIELD = "calendar_feed"
# Meetings this far back stay in the feed, so a calendar keeps the recent past.
WINDOW = timedelta(days=30)
REFRESH = timedelta(hours=1)
MAX_MEETINGS = 1000
SECRET_PATTERN = re.compile(r"^[0-9a-f]{24}[A-Za-z0-9_-]{43}$")


class FeedNotFound(NotFound):
    message = "The calendar feed was not found. Its URL may have been rotated."


def _mac(user_id: str, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"goalgetter.calendar-feed:{user_id}:{nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _nonce(user: dict) -> str:
    """The user's feed nonce, drawn the first time it is needed."""
    if (user.get(FIELD) or {}).get("nonce"):
        return user[FIELD]["nonce"]
    fresh = {"nonce": secrets.token_urlsafe(16), "rotated_at": clock.now()}
    stored = get_db().users.find_one_and_update(
        {"_id": user["_id"], f"{FIELD}.nonce": {"$exists": False}},
        {"$set": {FIELD: fresh}},
        return_document=ReturnDocument.AFTER,
    )
    if stored is None:  # another request drew it first
        stored = get_db().users.find_one({"_id": user["_id"]}, {FIELD: 1})
        if stored is None:
            raise NotFound("The user was not found.")
    return stored[FIELD]["nonce"]


def _urls(user_id, nonce: str) -> dict:
    secret = f"{user_id}{_mac(str(user_id), nonce)}"
    https_url = f"{current_app.config['API_BASE_URL']}{API_PREFIX}/calendar/{secret}.ics"
    return {"url": "webcal://" + https_url.split("://", 1)[1], "https_url": https_url}


def urls(user: dict) -> dict:
    """The user's feed URLs: `url` (webcal://) and `https_url` (the same feed over HTTP(S))."""
    return _urls(user["_id"], _nonce(user))


def rotate(user_id: ObjectId) -> dict:
    """A new secret: the old URLs stop answering; returns the new ones."""
    nonce = secrets.token_urlsafe(16)
    stored = get_db().users.find_one_and_update(
        {"_id": user_id},
        {"$set": {FIELD: {"nonce": nonce, "rotated_at": clock.now()}}},
        return_document=ReturnDocument.AFTER,
    )
    if stored is None:
        raise NotFound("The user was not found.")
    return _urls(user_id, nonce)


def owner(secret: str) -> dict:
    """The user whose current feed secret this is (FeedNotFound for anything else)."""
    if not SECRET_PATTERN.match(secret or ""):
        raise FeedNotFound()
    user_id, mac = secret[:24], secret[24:]
    user = get_db().users.find_one({"_id": ObjectId(user_id)})
    nonce = (user or {}).get(FIELD, {}).get("nonce")
    if not nonce or not hmac.compare_digest(mac, _mac(user_id, nonce)):
        raise FeedNotFound()
    return user


def feed(user: dict) -> tuple[bytes, object]:
    """(the ICS bytes, when they last changed) of the user's meetings from WINDOW back on."""
    meetings = list(
        get_db()
        .meetings.find(
            {"user_id": user["_id"], "scheduled_at": {"$gte": clock.now() - WINDOW}},
        )
        .sort("scheduled_at", 1)
        .limit(MAX_MEETINGS)
    )
    body = build_feed(meetings, recipient_from_user(user), REFRESH).encode()
    changed = [revised_at(meeting) for meeting in meetings]
    changed.append(user[FIELD]["rotated_at"])
    return body, max(changed)
