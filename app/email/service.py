"""Unsubscribe links: the user and category a signed token names, turning that category off,
and the preference centre the same link opens."""

from bson import ObjectId
from bson.errors import InvalidId

from app.db import get_db
from app.email import preferences, types
from app.email.tokens import read_unsubscribe_token


def _target(token: str) -> tuple[dict | None, str | None]:
    """(the user or None if deleted, the category or None for every optional one); raises
    TokenTampered for a token we did not sign."""
    named = read_unsubscribe_token(token)
    # A category that no longer exists keeps the meaning tokens had before categories.
    category = named.category if named.category in preferences.OPTIONAL else None
    try:
        user = get_db().users.find_one({"_id": ObjectId(named.user_id)})
    except InvalidId:
        user = None
    return user, category


def unsubscribe(token: str) -> str | None:
    """Turn off the token's category (every optional one for a token without one); returns
    that category (None: all). A deleted user is simply done."""
    user, category = _target(token)
    if user is not None:
        preferences.turn_off(user["_id"], category)
    return category


def centre(token: str) -> dict:
    """What the preference centre shows for a token: the address, the token's category and its
    label, and each category with its label and whether it is on (None when the user is gone)."""
    user, category = _target(token)
    return {
        "email": user["email"] if user else None,
        "category": category,
        "category_label": types.CATEGORY_LABELS[category] if category else None,
        "categories": [
            {
                "name": name,
                "label": types.CATEGORY_LABELS[name],
                "on": preferences.allows(user, name) if user else False,
                "critical": name in types.CRITICAL,
            }
            for name in types.CATEGORIES
        ]
        if user
        else [],
    }


def save(token: str, chosen: dict[str, bool]) -> dict[str, bool] | None:
    """Store the centre's form: each optional category on or off; returns the result (None
    when the user is gone)."""
    user, _category = _target(token)
    if user is None:
        return None
    return preferences.update(user["_id"], {c: bool(chosen.get(c)) for c in preferences.OPTIONAL})
