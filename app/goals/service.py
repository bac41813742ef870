"""Goals: create, list, change, delete, achieve a milestone (once)."""

from datetime import UTC, date, datetime

from bson import ObjectId
from pymongo import ReturnDocument

from app import clock
from app.db import get_db
from app.email.send import send_milestone
from app.errors import NotFound
from app.pagination import paginate


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def to_json(goal: dict) -> dict:
    """The API representation of a goal document."""
    target = goal.get("target_date")
    return {
        "id": str(goal["_id"]),
        "title": goal["title"],
        "description": goal.get("description", ""),
        "target_date": target.date().isoformat() if target else None,
        "status": goal["status"],
        "milestones": [
            {
                "index": index,
                "title": milestone["title"],
                "achieved_at": clock.isoformat(milestone.get("achieved_at")),
            }
            for index, milestone in enumerate(goal.get("milestones", []))
        ],
        "created_at": clock.isoformat(goal["created_at"]),
    }


def create_goal(user_id: ObjectId, data: dict) -> dict:
    """Insert a goal with its milestones (fixed from now on)."""
    goal = {
        "user_id": user_id,
        "title": data["title"],
        "description": data.get("description", ""),
        "milestones": [{"title": title} for title in data.get("milestones", [])],
        "status": "active",
        "created_at": clock.now(),
    }
    if data.get("target_date"):
        goal["target_date"] = _midnight(data["target_date"])
    goal["_id"] = get_db().goals.insert_one(goal).inserted_id
    return goal


def list_goals(user_id: ObjectId, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """The user's goals, newest first, one page."""
    return paginate(get_db().goals, {"user_id": user_id}, "created_at", limit, cursor)


def get_goal(user_id: ObjectId, goal_id: ObjectId) -> dict:
    """The user's goal, or 404 (also for another user's goal)."""
    goal = get_db().goals.find_one({"_id": goal_id, "user_id": user_id})
    if goal is None:
        raise NotFound("The goal was not found.")
    return goal


def update_goal(user_id: ObjectId, goal_id: ObjectId, data: dict) -> dict:
    """Change title, description or target date."""
    changes: dict = {"$set": {}, "$unset": {}}
    for field in ("title", "description"):
        if field in data:
            changes["$set"][field] = data[field]
    if "target_date" in data:
        if data["target_date"] is None:
            changes["$unset"]["target_date"] = ""
        else:
            changes["$set"]["target_date"] = _midnight(data["target_date"])
    update = {op: fields for op, fields in changes.items() if fields}
    if not update:
        return get_goal(user_id, goal_id)
    goal = get_db().goals.find_one_and_update(
        {"_id": goal_id, "user_id": user_id}, update, return_document=ReturnDocument.AFTER
    )
    if goal is None:
        raise NotFound("The goal was not found.")
    return goal


def delete_goal(user_id: ObjectId, goal_id: ObjectId) -> None:
    """Delete the user's goal (404 if there is none)."""
    if get_db().goals.delete_one({"_id": goal_id, "user_id": user_id}).deleted_count == 0:
        raise NotFound("The goal was not found.")


def achieve_milestone(user_id: ObjectId, goal_id: ObjectId, index: int) -> tuple[dict, bool]:
    """Mark milestone `index` achieved, once, and queue its email; returns (goal, whether this
    call achieved it)."""
    goal = get_goal(user_id, goal_id)
    if not 0 <= index < len(goal.get("milestones", [])):
        raise NotFound("The milestone was not found.")
    field = f"milestones.{index}.achieved_at"
    updated = get_db().goals.find_one_and_update(
        {"_id": goal_id, "user_id": user_id, field: {"$exists": False}},
        {"$set": {field: clock.now()}},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        return get_goal(user_id, goal_id), False
    if all(m.get("achieved_at") for m in updated["milestones"]):
        updated = get_db().goals.find_one_and_update(
            {"_id": goal_id}, {"$set": {"status": "achieved"}}, return_document=ReturnDocument.AFTER
        )
    send_milestone(user_id, goal_id, index)
    return updated, True
