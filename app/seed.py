"""Demo data for `make run SEED=1` (and `flask seed-demo`): a user, goals and meetings, made
through the same services the API uses (so their emails land in the dev outbox)."""

from datetime import timedelta

from app import clock
from app.goals.service import achieve_milestone, create_goal
from app.meetings import service as meetings
from app.passwords import hash_password
from app.users import service as users
from app.users.phase import start_tracking

DEMO_EMAIL = "demo@goalgetter.example"
DEMO_PASSWORD = "demo-password-123"
DEMO_GOALS = (
    ("Run a half marathon", "Spring race, under 2 hours.", ["5 km", "10 km", "15 km", "21 km"]),
    ("Learn Spanish", "Hold a 10-minute conversation.", ["100 words", "First conversation"]),
)


def seed_demo() -> dict:
    """Create the demo account (once): goals, tracking phase, a meeting running now and the
    next ones. Returns what exists."""
    user = users.find_by_email(DEMO_EMAIL)
    if user is not None:
        return {"user": DEMO_EMAIL, "password": DEMO_PASSWORD, "created": False}
    user = users.create_user(
        DEMO_EMAIL,
        "Demo Achiever",
        password_hash=hash_password(DEMO_PASSWORD),
        email_verified=True,
        timezone="Europe/Berlin",
    )
    goals = []
    for title, description, milestones in DEMO_GOALS:
        goal = create_goal(
            user["_id"], {"title": title, "description": description, "milestones": milestones}
        )
        goals.append(goal)
    achieve_milestone(user["_id"], goals[0]["_id"], 0)
    user, first = start_tracking(user)
    # A meeting running right now, so the coach chat is open for the demo.
    now = clock.now()
    running = meetings.create_meeting(user, now + timedelta(seconds=5), 60)
    return {
        "user": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "created": True,
        "goals": len(goals),
        "meetings": [clock.isoformat(m["scheduled_at"]) for m in (running, first) if m],
    }
