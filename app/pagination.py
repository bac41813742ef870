"""Cursor pagination for every list: `?limit=` (1–100, default 50) and an opaque `?cursor=`."""

import base64
import json
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from marshmallow import Schema, fields, validate
from pymongo import ASCENDING, DESCENDING

from app.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class PageArgsSchema(Schema):
    """Query arguments every list accepts."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


def encode_cursor(sort_value: datetime, doc_id: ObjectId) -> str:
    """An opaque cursor pointing just past (sort_value, id)."""
    raw = json.dumps([sort_value.isoformat(), str(doc_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, ObjectId]:
    """The position a cursor names; a malformed one is a 422 on `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_value, doc_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(sort_value), ObjectId(doc_id)
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError, InvalidId):
        raise ValidationFailed({"cursor": ["Not a valid cursor."]}) from None


def paginate(
    collection,
    query: dict,
    sort_field: str,
    limit: int,
    cursor: str | None,
    newest_first: bool = True,
) -> tuple[list[dict], str | None]:
    """One page of `query` ordered by (sort_field, _id), and the cursor of the next page."""
    direction = DESCENDING if newest_first else ASCENDING
    if cursor:
        value, doc_id = decode_cursor(cursor)
        op = "$lt" if newest_first else "$gt"
        query = {
            "$and": [
                query,
                {"$or": [{sort_field: {op: value}}, {sort_field: value, "_id": {op: doc_id}}]},
            ]
        }
    docs = list(
        collection.find(query).sort([(sort_field, direction), ("_id", direction)]).limit(limit + 1)
    )
    if len(docs) <= limit:
        return docs, None
    last = docs[limit - 1]
    return docs[:limit], encode_cursor(last[sort_field], last["_id"])
