"""Unsubscribing: the user a signed unsubscribe token names, and turning their notification
emails off."""

import logging

from bson import ObjectId
from bson.errors import InvalidId

from app.db import get_db
from app.email.tokens import read_unsubscribe_token

log = logging.getLogger(__name__)


def unsubscribe_target(token: str) -> dict | None:
    """The user a token names (TokenTampered when we did not sign it; None if deleted)."""
    user_id = read_unsubscribe_token(token)
    try:
        return get_db().users.find_one({"_id": ObjectId(user_id)}, {"email": 1, "name": 1})
    except InvalidId:
        return None


def unsubscribe(token: str) -> bool:
    """Turn the token's user's notifications off; returns whether a user was found."""
    user = unsubscribe_target(token)
    if user is None:
        return False
    get_db().users.update_one({"_id": user["_id"]}, {"$set": {"email_notifications": False}})
    log.info("user %s unsubscribed from notification emails", user["_id"])
    return True
