"""Meetings: scheduling, statuses, the next meeting, reminders."""
