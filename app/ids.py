"""Ids travel as 24-hex strings; a malformed id is simply not found."""

from bson import ObjectId
from bson.errors import InvalidId

from app.errors import NotFound


def parse_id(value: str, what: str = "resource") -> ObjectId:
    """The ObjectId for `value`, or a 404 for anything that is not one."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound(f"The {what} was not found.") from None
