"""The offline coach: intents, goals and milestones, meetings, no repeated reply."""

from datetime import timedelta
from itertools import pairwise

import pytest

from app.coach import CoachContext, Goal, Meeting, Milestone, Turn
from app.coach.offline import GREETING, OTHER, PLAN, QUESTION, SETBACK, WIN, OfflineCoach, classify
from tests.chat_support import T, add_goal, add_meeting, chat_user, send

MARATHON = Goal(
    "Run a marathon",
    milestones=(Milestone("Run 5k", True), Milestone("Run 10k", False), Milestone("Half", False)),
)
SPANISH = Goal("Learn Spanish", milestones=(Milestone("Finish the A1 course", False),))
NEXT = Meeting(T + timedelta(days=7), T + timedelta(days=7, minutes=30), 30)
ACTIVE = Meeting(T, T + timedelta(minutes=30), 30)

FIVE = {
    GREETING: "Hi coach!",
    QUESTION: "How do I stay consistent when work gets busy?",
    WIN: "I finished my first 10k today!",
    SETBACK: "I missed three runs this week and feel like quitting.",
    PLAN: "Can you give me a plan for this week?",
}


def _context(message, **fields) -> CoachContext:
    values = {
        "message": message,
        "user_name": "Ada Lovelace",
        "phase": "goal_setting",
        "timezone": "Europe/Berlin",
        "now": T,
        "coach_name": "Your GoalGetter Coach",
        "goals": (MARATHON, SPANISH),
    }
    values.update(fields)
    return CoachContext(**values)


def _reply(message, **fields) -> str:
    return OfflineCoach().reply(_context(message, **fields))


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Hi coach!", GREETING),
        ("hello", GREETING),
        ("Good morning!", GREETING),
        ("Hey coach, how are you?", GREETING),
        ("How do I stay consistent when work gets busy?", QUESTION),
        ("Why is motivation so hard to keep", QUESTION),
        ("Is it ok to rest on Sundays?", QUESTION),
        ("I finished my first 10k today!", WIN),
        ("I crushed my workout!", WIN),
        ("I missed two days but I ran this morning", WIN),
        ("I missed three runs this week and feel like quitting.", SETBACK),
        ("I didn't finish the course", SETBACK),
        ("I ran out of time again", SETBACK),
        ("I'm stuck and overwhelmed", SETBACK),
        ("I finished the first week but now I'm exhausted", SETBACK),
        ("Can you give me a plan for this week?", PLAN),
        ("What should I do next?", PLAN),
        ("I need a game plan to get back on track", PLAN),
        ("Where do I start?", PLAN),
        ("The weather is nice today", OTHER),
    ],
)
def test_classify(message, intent):
    assert classify(message) == intent


def test_the_five_intents_get_recognisably_different_replies():
    replies = {intent: _reply(message) for intent, message in FIVE.items()}
    assert len(set(replies.values())) == 5
    assert len({r.splitlines()[0].split(".")[0] for r in replies.values()}) == 5
    assert replies[GREETING].endswith("— Your GoalGetter Coach")
    assert "I can't look things up" in replies[QUESTION]
    assert "Mark it achieved" in replies[WIN] and '"Run 10k"' in replies[WIN]
    assert "ten minutes toward" in replies[SETBACK]
    assert [line[:3] for line in replies[PLAN].splitlines()[1:4]] == ["1. ", "2. ", "3. "]
    for intent, reply in replies.items():
        if intent != GREETING:
            assert "— Your GoalGetter Coach" not in reply, intent


def test_goal_titles_and_milestones_appear_when_relevant():
    plan = _reply("Give me a plan for this week")
    assert '"Run a marathon"' in plan and '"Run 10k"' in plan  # the first open milestone
    spanish = _reply("I'm stuck with my Spanish lessons")
    assert '"Learn Spanish"' in spanish and '"Finish the A1 course"' in spanish
    assert "Run a marathon" not in spanish
    win = _reply("I finished the A1 course!")
    assert '"Finish the A1 course" on the way to "Learn Spanish"' in win
    progress = _reply("How is my progress?")
    assert '"Run a marathon": 1 of 3 milestones done.' in progress
    assert '"Learn Spanish": 0 of 1 milestone done.' in progress


def test_without_goals_the_coach_asks_for_one():
    plan = _reply("Give me a plan", goals=())
    assert "Write your goal in one sentence" in plan
    greeting = _reply("Hello", goals=())
    assert "what's the goal that would change everything" in greeting


def test_tracking_replies_mention_the_next_meeting():
    # 2027-03-08 09:00 UTC is 10:00 in Berlin (CET).
    at = "Monday 8 March at 10:00 CET"
    for intent, message in FIVE.items():
        if intent == QUESTION:
            message = "When is our next meeting?"
        reply = _reply(message, phase="tracking", active_meeting=ACTIVE, next_meeting=NEXT)
        assert at in reply, intent
        goal_setting = _reply(message, phase="goal_setting", next_meeting=NEXT)
        assert at not in goal_setting, intent


def test_during_a_meeting_without_a_next_one_the_session_end_is_named():
    reply = _reply("Give me a plan", phase="tracking", active_meeting=ACTIVE)
    assert "Before this session ends at 10:30 CET" in reply


def test_the_previous_reply_is_never_repeated_word_for_word():
    coach = OfflineCoach()
    history: tuple[Turn, ...] = ()
    for _ in range(9):
        reply = coach.reply(_context("Hi coach!", history=history))
        assert reply != (history[-1].content if history else None)
        history += (Turn("user", "Hi coach!"), Turn("assistant", reply))
    # Even when the rotation would land on exactly the previous reply, it moves on.
    one_turn = (Turn("assistant", "something else"),)
    rotated = coach.reply(_context("Hi coach!", history=one_turn))
    assert coach.reply(_context("Hi coach!", history=(Turn("assistant", rotated),))) != rotated


def test_two_identical_messages_in_a_row_get_different_replies(app, client):
    user, ada = chat_user(app, client)
    add_goal(app, user, "Run a marathon", ["Run 5k", "Run 10k"])
    replies = []
    for _ in range(4):
        response = send(client, ada, "I finished my 5k!")
        assert response.status_code == 201
        replies.append(response.get_json()["reply"]["content"])
    assert all(a != b for a, b in pairwise(replies))
    assert all('"Run 5k"' in reply for reply in replies)


def test_through_the_api_in_tracking(app, client, frozen_clock):
    user, ada = chat_user(app, client, phase="tracking", timezone="America/New_York")
    add_goal(app, user, "Learn Spanish", ["Finish the A1 course"])
    add_meeting(app, user, T)
    add_meeting(app, user, T + timedelta(days=7))
    frozen_clock.set_now(T + timedelta(minutes=3))
    reply = send(client, ada, "What should I do next?").get_json()["reply"]["content"]
    assert '"Learn Spanish"' in reply
    assert "Monday 8 March at 04:00 EST" in reply


def test_sign_off_is_coach_name(make_app):
    app = make_app(COACH_NAME="Coach Nova")
    client = app.test_client()
    _, ada = chat_user(app, client)
    reply = send(client, ada, "Hello!").get_json()["reply"]["content"]
    assert reply.endswith("— Coach Nova")
