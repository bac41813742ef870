"""Meetings: create, reschedule, cancel, list; statuses and the next meeting."""

import contextlib
import logging
from datetime import datetime, timedelta

import redis
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app import clock
from app.db import get_db
from app.email.send import send_cancellation, send_invitation
from app.errors import APIError, NotFound, ServiceUnavailable, ValidationFailed
from app.meetings import reminders
from app.meetings.slots import next_slot
from app.meetings.windows import ends_at
from app.pagination import paginate
from app.redis import RedisNotConfigured, get_redis

log = logging.getLogger(__name__)

USER_LOCK_TTL_S = 10
USER_LOCK_WAIT_S = 10


class MeetingOverlap(APIError):
    status, code, message = 409, "meeting_overlap", "This overlaps another of your meetings."


class NotReschedulable(APIError):
    status, code, message = 409, "meeting_not_reschedulable", "Only scheduled meetings can move."


class NotCancellable(APIError):
    status, code, message = (
        409,
        "meeting_not_cancellable",
        "Only scheduled meetings can be cancelled.",
    )


def to_json(meeting: dict | None) -> dict | None:
    """The API representation of a meeting document."""
    if meeting is None:
        return None
    return {
        "id": str(meeting["_id"]),
        "scheduled_at": clock.isoformat(meeting["scheduled_at"]),
        "ends_at": clock.isoformat(ends_at(meeting)),
        "duration_minutes": meeting["duration_minutes"],
        "status": meeting["status"],
        "sequence": meeting.get("sequence", 0),
        "created_at": clock.isoformat(meeting.get("created_at")),
    }


@contextlib.contextmanager
def _user_lock(user_id: ObjectId):
    """Serialise one user's overlap check and write; without Redis the unique slot index
    still stops exact duplicates."""
    lock = None
    try:
        lock = get_redis().lock(f"lock:meetings:{user_id}", timeout=USER_LOCK_TTL_S)
        acquired = lock.acquire(blocking_timeout=USER_LOCK_WAIT_S)
    except (redis.RedisError, RedisNotConfigured) as exc:
        log.warning("meeting lock unavailable, relying on the slot index: %s", exc)
        lock, acquired = None, True
    if not acquired:
        # Redis is up but another booking of this user holds the lock: never book blind.
        raise ServiceUnavailable("Another change to your meetings is in progress; try again.")
    try:
        yield
    finally:
        if lock is not None:
            with contextlib.suppress(redis.RedisError):
                lock.release()


def _whole_second(start: datetime) -> datetime:
    # ICS times and the reminder job ids and keys carry whole seconds; a stored fraction would
    # make the exact-time reminder miss its meeting (it matches on scheduled_at).
    return start.replace(microsecond=0)


def _check_future(start: datetime, now: datetime) -> None:
    if start <= now:
        raise ValidationFailed({"scheduled_at": ["Must be in the future."]})


def _overlaps(user_id, start: datetime, end: datetime, exclude=None) -> bool:
    """Whether another non-cancelled meeting of the user shares part of [start, end)."""
    query = {
        "user_id": user_id,
        "status": {"$ne": "cancelled"},
        "scheduled_at": {"$lt": end},
        "ends_at": {"$gt": start},
    }
    if exclude is not None:
        query["_id"] = {"$ne": exclude}
    return get_db().meetings.find_one(query, {"_id": 1}) is not None


def _insert(user_id, start: datetime, duration: int, now: datetime) -> dict:
    meeting = {
        "user_id": user_id,
        "scheduled_at": clock.to_ms(start),
        "ends_at": clock.to_ms(start + timedelta(minutes=duration)),
        "duration_minutes": duration,
        "status": "scheduled",
        "sequence": 0,
        "reminders": {},
        "slot_taken": True,
        "created_at": now,
    }
    meeting["_id"] = get_db().meetings.insert_one(meeting).inserted_id
    return meeting


def create_meeting(user: dict, start: datetime, duration: int | None) -> dict:
    """Schedule a meeting (future, no overlap), arm its reminders, send the invitation."""
    now = clock.now()
    start = _whole_second(start)
    _check_future(start, now)
    duration = duration or user.get("meeting_duration_minutes", 30)
    end = start + timedelta(minutes=duration)
    with _user_lock(user["_id"]):
        if _overlaps(user["_id"], start, end):
            raise MeetingOverlap()
        try:
            meeting = _insert(user["_id"], start, duration, now)
        except DuplicateKeyError:
            raise MeetingOverlap() from None
    reminders.arm(meeting, now)
    send_invitation(meeting)
    return meeting


def get_meeting(user_id: ObjectId, meeting_id: ObjectId) -> dict:
    """The user's meeting, or 404 (also for another user's)."""
    meeting = get_db().meetings.find_one({"_id": meeting_id, "user_id": user_id})
    if meeting is None:
        raise NotFound("The meeting was not found.")
    return meeting


def list_meetings(user_id: ObjectId, status: str | None, limit: int, cursor: str | None):
    """The user's meetings by start time, one page."""
    query: dict = {"user_id": user_id}
    if status:
        query["status"] = status
    return paginate(get_db().meetings, query, "scheduled_at", limit, cursor, newest_first=False)


def reschedule(
    user: dict, meeting_id: ObjectId, start: datetime | None, duration: int | None
) -> dict:
    """Move or resize a scheduled meeting: sequence +1, reminders re-armed when the time
    moves, an updated invitation."""
    now = clock.now()
    meeting = get_meeting(user["_id"], meeting_id)
    if meeting["status"] != "scheduled":
        raise NotReschedulable()
    new_start = _whole_second(start) if start is not None else meeting["scheduled_at"]
    new_duration = duration or meeting["duration_minutes"]
    moved = new_start != meeting["scheduled_at"]
    if not moved and new_duration == meeting["duration_minutes"]:
        return meeting
    if moved:
        _check_future(new_start, now)
    new_end = new_start + timedelta(minutes=new_duration)
    update: dict = {
        "$set": {
            "scheduled_at": new_start,
            "ends_at": new_end,
            "duration_minutes": new_duration,
            "updated_at": now,
        },
        "$inc": {"sequence": 1},
    }
    if moved:
        update["$set"]["reminders"] = {}
    with _user_lock(user["_id"]):
        if _overlaps(user["_id"], new_start, new_end, exclude=meeting_id):
            raise MeetingOverlap()
        try:
            updated = get_db().meetings.find_one_and_update(
                {"_id": meeting_id, "status": "scheduled", "scheduled_at": meeting["scheduled_at"]},
                update,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise MeetingOverlap() from None
    if updated is None:
        raise NotReschedulable("The meeting changed meanwhile; reload and try again.")
    if moved:
        reminders.disarm(meeting)
        reminders.arm(updated, now)
    send_invitation(updated)
    return updated


def cancel(user: dict, meeting_id: ObjectId) -> dict:
    """Cancel a scheduled meeting: reminders dropped, the cancellation email."""
    now = clock.now()
    meeting = get_meeting(user["_id"], meeting_id)
    updated = get_db().meetings.find_one_and_update(
        {"_id": meeting_id, "status": "scheduled"},
        {
            "$set": {"status": "cancelled", "cancelled_at": now, "updated_at": now},
            "$unset": {"slot_taken": ""},
            "$inc": {"sequence": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise NotCancellable()
    reminders.disarm(meeting)
    send_cancellation(updated)
    return updated


def create_auto_meeting(user: dict, start: datetime, now: datetime) -> dict | None:
    """Insert a system-scheduled meeting (next or first) unless it overlaps one; invite."""
    duration = user.get("meeting_duration_minutes", 30)
    end = start + timedelta(minutes=duration)
    with _user_lock(user["_id"]):
        if _overlaps(user["_id"], start, end):
            return None
        try:
            meeting = _insert(user["_id"], start, duration, now)
        except DuplicateKeyError:
            return None  # created already (at most once)
    reminders.arm(meeting, now)
    send_invitation(meeting)
    return meeting


def schedule_next(meeting: dict, now: datetime) -> dict | None:
    """After a tracking user's meeting completes with nothing ahead: the next one, same local
    time `meeting_interval_days` later (rolled past an outage), with the current duration."""
    user = get_db().users.find_one({"_id": meeting["user_id"]})
    if user is None or user.get("phase") != "tracking":
        return None
    ahead = get_db().meetings.find_one(
        {"user_id": user["_id"], "status": "scheduled", "scheduled_at": {"$gt": now}},
        {"_id": 1},
    )
    if ahead is not None:
        return None
    start = next_slot(
        meeting["scheduled_at"],
        user.get("timezone", "UTC"),
        user.get("meeting_interval_days", 7),
        now,
    )
    return create_auto_meeting(user, start, now)


def update_statuses(now: datetime) -> dict[str, int]:
    """scheduled → active when the window opens; → completed when it ends (straight from
    scheduled when late); the next meeting after each completion."""
    meetings = get_db().meetings
    activated = meetings.update_many(
        {"status": "scheduled", "scheduled_at": {"$lte": now}, "ends_at": {"$gt": now}},
        {"$set": {"status": "active", "activated_at": now}},
    ).modified_count
    completed = created = 0
    ended = list(
        meetings.find({"status": {"$in": ["scheduled", "active"]}, "ends_at": {"$lte": now}})
    )
    for meeting in ended:
        done = meetings.find_one_and_update(
            {"_id": meeting["_id"], "status": meeting["status"]},
            {"$set": {"status": "completed", "completed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if done is None:
            continue  # another run got it
        completed += 1
        if schedule_next(done, now) is not None:
            created += 1
    return {"activated": activated, "completed": completed, "created": created}
