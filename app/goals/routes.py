"""/api/v1/goals: the user's goals and milestones."""

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint

from app.goals import service
from app.goals.schemas import (
    GoalCreateSchema,
    GoalListArgs,
    GoalListSchema,
    GoalPatchSchema,
    GoalSchema,
)
from app.http import API_PREFIX, BEARER
from app.ids import parse_id

blp = Blueprint("goals", __name__, url_prefix=f"{API_PREFIX}/goals", description="Goals")


@blp.route("", methods=["POST"])
@jwt_required()
@blp.arguments(
    GoalCreateSchema,
    example={
        "title": "Run a marathon",
        "description": "Spring race",
        "target_date": "2027-04-01",
        "milestones": ["Run 5k", "Run a half marathon"],
    },
)
@blp.response(201, GoalSchema)
@blp.doc(security=BEARER)
def create_goal(body):
    """Create a goal; `milestones` is a list of titles."""
    return service.to_json(service.create_goal(current_user["_id"], body))


@blp.route("", methods=["GET"])
@jwt_required()
@blp.arguments(GoalListArgs, location="query")
@blp.response(200, GoalListSchema)
@blp.doc(security=BEARER)
def list_goals(args):
    """The user's goals, newest first."""
    goals, next_cursor = service.list_goals(current_user["_id"], args["limit"], args["cursor"])
    return {"goals": [service.to_json(goal) for goal in goals], "next_cursor": next_cursor}


@blp.route("/<goal_id>", methods=["PATCH"])
@jwt_required()
@blp.arguments(GoalPatchSchema, example={"title": "Run a sub-4 marathon"})
@blp.response(200, GoalSchema)
@blp.doc(security=BEARER)
def update_goal(body, goal_id):
    """Change title, description or target date (not milestones)."""
    goal = service.update_goal(current_user["_id"], parse_id(goal_id, "goal"), body)
    return service.to_json(goal)


@blp.route("/<goal_id>", methods=["DELETE"])
@jwt_required()
@blp.response(204)
@blp.doc(security=BEARER)
def delete_goal(goal_id):
    """Delete a goal."""
    service.delete_goal(current_user["_id"], parse_id(goal_id, "goal"))


@blp.route("/<goal_id>/milestones/<int:index>/achieve", methods=["POST"])
@jwt_required()
@blp.response(200, GoalSchema)
@blp.doc(security=BEARER)
def achieve_milestone(goal_id, index):
    """Mark a milestone achieved (once; the milestone email goes out once)."""
    goal, _first = service.achieve_milestone(current_user["_id"], parse_id(goal_id, "goal"), index)
    return service.to_json(goal)
