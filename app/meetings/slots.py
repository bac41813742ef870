"""Wall-clock arithmetic in the user's timezone (DST-safe)."""

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIRST_MEETING_LOCAL_TIME = time(9, 0)


def resolve_local(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. An ambiguous time (clocks going back) takes
    the first occurrence; a nonexistent one (clocks going forward) is read with the offset
    before the gap, which moves it forward by the gap (RFC 5545's rule: 02:30 → 03:30)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def next_slot(previous: datetime, tz_name: str, interval_days: int, now: datetime) -> datetime:
    """The first time after `now` that is `interval_days` (or a multiple, after an outage)
    after `previous`, at the same local wall-clock time."""
    tz = ZoneInfo(tz_name)
    base = previous.astimezone(tz).replace(tzinfo=None, fold=0)
    step = timedelta(days=interval_days)
    # Jump straight past an outage instead of creating a backlog; one step short, because
    # local slots drift against UTC across a DST change (an hour later after clocks go back)
    # and the first future slot can be the one the UTC division rounds past.
    k = max(1, math.ceil((now - previous) / step) - 1)
    while True:
        candidate = resolve_local(base + k * step, tz)
        if candidate > now:
            return candidate
        k += 1


def first_meeting_time(now: datetime, tz_name: str, interval_days: int) -> datetime:
    """`interval_days` ahead of today (local date) at 09:00 local time."""
    tz = ZoneInfo(tz_name)
    local_day = now.astimezone(tz).date() + timedelta(days=interval_days)
    return resolve_local(datetime.combine(local_day, FIRST_MEETING_LOCAL_TIME), tz)
