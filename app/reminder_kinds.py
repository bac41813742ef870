"""The two meeting reminders, for meetings (when each is due) and email (what it says, how
urgently it goes): due `lead` before the meeting, sendable until `window_end` before it."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Kind:
    """A reminder kind; `urgent` ones jump the queues (their window is ten minutes)."""

    name: str
    lead: timedelta
    window_end: timedelta
    urgent: bool


KINDS: dict[str, Kind] = {
    "24h": Kind("24h", timedelta(hours=24), timedelta(hours=23), urgent=False),
    "1h": Kind("1h", timedelta(minutes=60), timedelta(minutes=50), urgent=True),
}
