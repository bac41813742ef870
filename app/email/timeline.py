"""What happened to an email after SendGrid accepted it: its webhook events, in the order they
happened and each once, and the delivery status they add up to.

`email_log` rows carry `events` (sorted by the event's own timestamp, then by SendGrid's order
within a second; deduplicated by `sg_event_id`), `delivery_status` (`accepted` → `delivered`
/ `deferred` / `bounced` / `dropped`), `opened` and `clicked`. Every write is one atomic
update, so webhook requests for the same row at once never lose each other's events: the push
is conditional on the event being absent and sorts the array in place, and the latest delivery
event wins through `$max` on `delivery_key` (`<epoch>|<rank>|<status>`), whose holder alone
then sets `delivery_status`.
"""

import logging

log = logging.getLogger(__name__)

# What each delivery event makes of the row; the latest of them (by time) decides.
DELIVERY_EVENTS = {
    "processed": "accepted",
    "deferred": "deferred",
    "delivered": "delivered",
    "bounce": "bounced",
    "dropped": "dropped",
}
DELIVERY_STATUSES = ("accepted", "delivered", "deferred", "bounced", "dropped")
# SendGrid's timestamps are whole seconds: events of one second sort in the order SendGrid
# produces them.
_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "processed",
            "dropped",
            "deferred",
            "bounce",
            "delivered",
            "open",
            "click",
            "spamreport",
            "unsubscribe",
            "group_unsubscribe",
            "group_resubscribe",
        )
    )
}


def rank(name: str | None) -> int:
    """Where an event of this name sorts among events of the same second."""
    return _ORDER.get(name, len(_ORDER))


def delivery_status(row: dict) -> str | None:
    """A row's delivery status: from its events, else `accepted` once the provider took it."""
    if row.get("delivery_status"):
        return row["delivery_status"]
    return "accepted" if row.get("status") == "sent" else None


def status_query(status: str) -> dict:
    """The `email_log` filter of rows whose delivery_status() is `status`."""
    if status == "accepted":
        return {
            "$or": [
                {"delivery_status": "accepted"},
                {"status": "sent", "delivery_status": None},
            ]
        }
    return {"delivery_status": status}


def _add(collection, row_id, entry: dict) -> None:
    stored = {**entry, "rank": rank(entry.get("event"))}
    if entry.get("sg_event_id"):
        absent = {"events.sg_event_id": {"$ne": entry["sg_event_id"]}}
    else:
        absent = {"events": {"$ne": stored}}
    update: dict = {
        "$push": {"events": {"$each": [stored], "$sort": {"at": 1, "rank": 1}}},
    }
    flags = {"opened": True} if entry.get("event") == "open" else {}
    if entry.get("event") == "click":
        flags = {"clicked": True}
    if flags:
        update["$set"] = flags
    status = DELIVERY_EVENTS.get(entry.get("event"))
    if status is not None:
        key = f"{int(entry['at'].timestamp()):012d}|{stored['rank']:02d}|{status}"
        update["$max"] = {"delivery_key": key}
    collection.update_one({"_id": row_id, **absent}, update)
    if status is not None:
        # Only the latest delivery event still holds the key; an older one changes nothing.
        collection.update_one(
            {"_id": row_id, "delivery_key": key}, {"$set": {"delivery_status": status}}
        )


def record(collection, row_filter: dict, entries: list[dict]) -> bool:
    """Add `entries` (each once) to the row `row_filter` finds, with what they add up to;
    returns whether there was such a row."""
    row = collection.find_one(row_filter, {"_id": 1})
    if row is None:
        return False
    for entry in entries:
        _add(collection, row["_id"], entry)
    return True
