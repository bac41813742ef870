"""A user's email preferences, per category: what they are, who may change them, and whether
they allow an email now.

Stored on the `users` document: `notifications.<category>` (absent = on) for the optional
categories, under the profile's master switch `email_notifications` (false = every optional
category off). `account` mail is critical: always on, never stored, never changed.
"""

import logging
from datetime import datetime

from bson import ObjectId
from pymongo import ReturnDocument

from app.db import get_db, in_chunks
from app.email import BODY_FIELDS, stats, types
from app.errors import NotFound

log = logging.getLogger(__name__)

OPTIONAL = tuple(c for c in types.CATEGORIES if c not in types.CRITICAL)


def allows(user: dict, category: str) -> bool:
    """Whether a user (a `users` document or a recipient dict) takes mail of `category`."""
    if category in types.CRITICAL:
        return True
    if not user.get("email_notifications", True):
        return False
    return bool((user.get("notifications") or {}).get(category, True))


def effective(user: dict) -> dict[str, bool]:
    """Every category and whether it is on for this user (critical ones always are)."""
    return {category: allows(user, category) for category in types.CATEGORIES}


def _user(user_id) -> dict:
    user = get_db().users.find_one({"_id": ObjectId(str(user_id))})
    if user is None:
        raise NotFound("The user was not found.")
    return user


def get(user_id) -> dict[str, bool]:
    """The user's categories as the API shows them."""
    return effective(_user(user_id))


def update(user_id, changes: dict[str, bool]) -> dict[str, bool]:
    """Set optional categories on or off; the others keep what the user sees now. Turning one
    on while the master switch is off switches it back on, with only what was asked on."""
    unknown = set(changes) - set(OPTIONAL)
    if unknown:
        raise ValueError(f"not optional categories: {', '.join(sorted(unknown))}")
    user = _user(user_id)
    if not changes:
        return effective(user)
    fields: dict = {f"notifications.{c}": bool(on) for c, on in changes.items()}
    if any(changes.values()) and not user.get("email_notifications", True):
        shown = effective(user)
        fields = {f"notifications.{c}": bool(changes.get(c, shown[c])) for c in OPTIONAL}
        fields["email_notifications"] = True
    updated = get_db().users.find_one_and_update(
        {"_id": user["_id"]}, {"$set": fields}, return_document=ReturnDocument.AFTER
    )
    if updated is None:
        raise NotFound("The user was not found.")
    return effective(updated)


def turn_off(user_id, category: str | None) -> bool:
    """One category off, or with None every optional one (the master switch); returns
    whether the user exists."""
    if category is not None and category not in OPTIONAL:
        raise ValueError(f"{category!r} is not an optional category")
    field = "email_notifications" if category is None else f"notifications.{category}"
    written = get_db().users.update_one({"_id": ObjectId(str(user_id))}, {"$set": {field: False}})
    if written.matched_count:
        log.info("user %s turned off %s email", user_id, category or "every optional")
    return bool(written.matched_count)


def withdraw_opted_out(collection, rows: list[dict], now: datetime) -> set[ObjectId]:
    """Of `rows` (with their `type` and `user_id`), those not yet sent whose user's preferences
    now refuse their type become `opted_out` (bodies dropped); returns their ids. Delivery
    calls this before claiming, so an email queued before its category was turned off is not
    sent."""
    unsent = {"$or": [{"status": "pending"}, {"status": "sending", "lease_until": {"$lt": now}}]}
    rows = [
        row
        for row in rows
        if row.get("user_id") is not None and not types.get(row["type"]).critical
    ]
    if not rows:
        return set()
    user_ids = list({row["user_id"] for row in rows})
    fields = {"email_notifications": 1, "notifications": 1}
    users = {}
    for chunk in in_chunks(user_ids):
        users.update((u["_id"], u) for u in get_db().users.find({"_id": {"$in": chunk}}, fields))
    types_by_id = {row["_id"]: row["type"] for row in rows}
    refused = [
        row["_id"]
        for row in rows
        if row["user_id"] in users
        and not allows(users[row["user_id"]], types.get(row["type"]).category)
    ]
    withdrawn = set()
    for row_id in refused:
        written = collection.update_one(
            {"_id": row_id, **unsent},
            {
                "$set": {"status": "opted_out", "opted_out_at": now},
                "$unset": {**dict.fromkeys(BODY_FIELDS, ""), "lease_until": "", "lease_token": ""},
            },
        )
        if written.modified_count:
            withdrawn.add(row_id)
            stats.written(types_by_id[row_id], "opted_out")
    if withdrawn:
        log.info("%d queued email(s) withdrawn: their category was turned off", len(withdrawn))
    return withdrawn
