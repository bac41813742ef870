"""The one seam for time: `now()` is the current UTC instant, which tests can move."""

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC at millisecond precision (what MongoDB stores)."""
    return to_ms(_frozen if _frozen is not None else datetime.now(UTC))


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (aware), or let it run again with None."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock takes timezone-aware datetimes only")
    _frozen = moment.astimezone(UTC) if moment is not None else None


def to_ms(moment: datetime) -> datetime:
    """Truncate an aware datetime to MongoDB's millisecond precision."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def isoformat(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and `Z`, the API's datetime format."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resolve(moment: str | datetime | None) -> datetime:
    """A job's `now` argument: an ISO 8601 string or aware datetime, else the current time."""
    if moment is None:
        return now()
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("now must carry a timezone offset")
    return to_ms(moment.astimezone(UTC))
