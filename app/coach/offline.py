"""The `offline` coach: a rule-based coach in the app's high-energy voice, no network needed.

It classifies the message (greeting, question, win, setback, plan request, anything else) with
word patterns, then writes from what the service knows: the user's goals and milestones, the
phase, the active or next meeting. It cannot understand free text beyond those patterns nor
answer factual questions; the README says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from app.coach import CoachContext, Goal, Meeting, Milestone

GREETING, QUESTION, WIN, SETBACK, PLAN, OTHER = (
    "greeting",
    "question",
    "win",
    "setback",
    "plan",
    "other",
)

_GREETING_START = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|hola|greetings|good (morning|afternoon|evening|day)|"
    r"what's up|whats up|sup)\b"
)
# What may follow a greeting and still leave it a greeting ("hey coach, how are you?").
_GREETING_FILLER = re.compile(
    r"\b(there|coach|again|team|everyone|all|friend|buddy|how are you( doing)?( today)?|"
    r"how's it going|how is it going|how are things|it's me|me again)\b"
)
_QUESTION_START = re.compile(
    r"^(who|what|what's|when|where|why|how|which|can|could|should|would|will|is|are|am|do|"
    r"does|did|any|is there)\b"
)
_PLAN = re.compile(
    r"\b(give me|make me|build me|create|draft|lay out|map out|suggest|show me|need|want|"
    r"help me (make|build|with|plan)|what's|what is|can you|could you)\b[^.?!]{0,40}"
    r"\b(plan|roadmap|schedule|strategy|steps|routine|game plan)\b"
    r"|\b(next steps?|what (should|do|can) i do( next| now)?|where (do|should) i (start|begin)|"
    r"how (do|should) i (start|begin|get started)|what now|plan (for|of) (today|tomorrow|"
    r"the week|this week|next week|the month)|help me plan|let's plan|lets plan)\b"
)
_SETBACK = re.compile(
    r"\b(fail(ed|ing|ure)?|missed|miss(ing)?|skip(ped|ping)?|gave up|give up|giving up|"
    r"quit(ting)?|stuck|struggl\w*|behind|slipp(ed|ing)|fell off|fall(ing)? off|relaps\w*|"
    r"procrastinat\w*|unmotivated|demotivated|discouraged|overwhelm\w*|frustrat\w*|"
    r"exhausted|burn(ed|t)? out|burnout|setback|bad (day|week)|messed up|screwed up|blew it|"
    r"disappoint\w*|lost (my|the) (motivation|streak|focus|way)|no progress|ran out of|"
    r"(didn't|did not|couldn't|could not|haven't|have not|hasn't|wasn't able to|"
    r"not able to|can't seem to|cannot seem to|can't get|can't keep|can't stick))\b"
)
_WIN = re.compile(
    r"\b(did it|done|finished|completed|achieved|accomplished|nailed|crushed|smashed|"
    r"hit (my|the|a)|reached|made it|won|success\w*|proud|breakthrough|got there|passed|"
    r"landed|signed up|ran|streak|personal (best|record)|pb|new record|milestone|"
    r"lost \d+|great news|good news)\b"
)
# A clause after "but" usually carries what the person means ("I missed a day but ran today").
_TURN = re.compile(r"\b(but|however|though|although|yet)\b")
_MEETING_TOPIC = re.compile(r"\b(meeting|meetings|session|call|appointment|meet)\b")
_PROGRESS_TOPIC = re.compile(
    r"\b(progress|how am i doing|how i'm doing|my goals?|milestones?|on track)\b"
)
_WORD = re.compile(r"[a-z0-9']+")
# Words too common to tell which goal a message is about.
_STOPWORD_TEXT = """
the and for with that this have has had was were are you your mine from into onto about just
really very then than them they what when where which while will would could should today week
weekly day daily time get got make made more most some any all not but out off over under again
still also been being its it's i'm i've im ive my me our we us
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").replace("‘", "'").split())


def classify(message: str) -> str:
    """The intent of `message`: greeting, question, win, setback, plan or other."""
    text = _normalise(message)
    if _PLAN.search(text):
        return PLAN
    clauses = [c for c in _TURN.split(text) if c and not _TURN.fullmatch(c)]
    for clause in reversed(clauses):
        setbacks, wins = len(_SETBACK.findall(clause)), len(_WIN.findall(clause))
        if setbacks or wins:
            return SETBACK if setbacks >= wins else WIN
    greeting = _GREETING_START.match(text)
    if greeting:
        rest = _GREETING_FILLER.sub(" ", text[greeting.end() :])
        if len(_WORD.findall(rest)) <= 2:
            return GREETING
    if text.endswith("?") or _QUESTION_START.match(text):
        return QUESTION
    return GREETING if greeting else OTHER


def _words(text: str) -> set[str]:
    words = set()
    for word in _WORD.findall(_normalise(text)):
        if word in _STOPWORDS or (len(word) < 3 and not any(ch.isdigit() for ch in word)):
            continue
        words.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return words


def _overlap(text: str, message_words: set[str]) -> int:
    return len(_words(text) & message_words)


def relevant_goal(context: CoachContext) -> Goal | None:
    """The goal the message talks about, else the first active goal, else the first goal."""
    if not context.goals:
        return None
    words = _words(context.message)

    def score(goal: Goal) -> int:
        names = " ".join([goal.title, *(m.title for m in goal.milestones)])
        return _overlap(names, words)

    best = max(context.goals, key=score)
    if score(best) > 0:
        return best
    return next((g for g in context.goals if g.status == "active"), context.goals[0])


def mentioned_milestone(goal: Goal, message: str) -> Milestone | None:
    """The milestone of `goal` whose words the message uses most, if any."""
    words = _words(message)
    scored = [(_overlap(m.title, words), i) for i, m in enumerate(goal.milestones)]
    best = max(scored, default=(0, -1))
    return goal.milestones[best[1]] if best[0] > 0 else None


def when(meeting: Meeting, timezone: str) -> str:
    """A meeting's start in the user's timezone, e.g. "Tuesday 8 December at 09:00 CET"."""
    local = meeting.scheduled_at.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M} {local.tzname()}"


def _until(meeting: Meeting, timezone: str) -> str:
    local = meeting.ends_at.astimezone(ZoneInfo(timezone))
    return f"{local:%H:%M} {local.tzname()}"


def _first_name(context: CoachContext) -> str:
    parts = context.user_name.split()
    return parts[0] if parts else "champion"


def _pick(options: list[str], turn: int) -> str:
    return options[turn % len(options)]


class OfflineCoach:
    """Rule-based replies from goals, milestones, phase and meetings; never the same reply
    twice in a row."""

    @classmethod
    def from_config(cls, config: Mapping) -> OfflineCoach:
        """The offline coach needs no settings."""
        return cls()

    def reply(self, context: CoachContext) -> str:
        """Answer `context.message` in the coach's voice."""
        intent = classify(context.message)
        turns = sum(1 for t in context.history if t.role == "assistant")
        previous = context.previous_reply
        write = getattr(self, f"_{intent}")
        # Rotating the phrasing with the turn count already varies consecutive replies; trying
        # the next rotations makes "never the same reply twice in a row" a guarantee.
        for offset in range(3):
            text = write(context, turns + offset)
            if text != previous:
                return text
        return f"{text}\nRound {turns + 1}, {_first_name(context)}: let's go!"

    # --- pieces -------------------------------------------------------------------------

    def _meeting_line(self, context: CoachContext, turn: int, purpose: str) -> str | None:
        if context.phase != "tracking":
            return None
        if context.next_meeting:
            at = when(context.next_meeting, context.timezone)
            return _pick(
                [
                    f"Our next meeting is {at}: {purpose}",
                    f"Mark it: our next meeting is {at}. {purpose[0].upper()}{purpose[1:]}",
                    f"Next meeting: {at}. {purpose[0].upper()}{purpose[1:]}",
                ],
                turn,
            )
        if context.active_meeting:
            until = _until(context.active_meeting, context.timezone)
            return f"We're live in your coaching session until {until}, so let's use every minute."
        return None

    def _focus(self, goal: Goal) -> str:
        upcoming = goal.next_milestone
        if upcoming:
            return f'We\'re building toward "{goal.title}", next up: "{upcoming.title}".'
        if goal.milestones:
            return f'Every milestone of "{goal.title}" is done. Legendary.'
        return f'We\'re building toward "{goal.title}".'

    # --- intents ------------------------------------------------------------------------

    def _greeting(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        parts = [
            _pick(
                [
                    f"Hey {name}! Great to have you here. Let's make today count!",
                    f"{name}! You showed up, and showing up is where every breakthrough starts.",
                    f"Welcome back, {name}! Energy up, let's get to work!",
                ],
                turn,
            )
        ]
        goal = relevant_goal(context)
        if goal:
            parts.append(self._focus(goal))
        else:
            parts.append(
                "Let's start with the big one: what's the goal that would change everything "
                "for you this year?"
            )
        parts.append(self._meeting_line(context, turn, "that's where we lock in your progress."))
        parts.append(
            _pick(
                [
                    "What's on your mind?",
                    "What do you want to tackle first?",
                    "Tell me: what's the win you want today?",
                ],
                turn,
            )
        )
        return " ".join(p for p in parts if p) + f"\n— {context.coach_name}"

    def _question(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        text = _normalise(context.message)
        opener = _pick(
            [
                f"Great question, {name}!",
                "Love that you're asking: questions are how champions get better.",
                "Now that's the right question!",
            ],
            turn,
        )
        if _MEETING_TOPIC.search(text):
            return f"{opener} {self._meeting_answer(context)}"
        if _PROGRESS_TOPIC.search(text) and context.goals:
            return f"{opener} {self._progress_answer(context)}"
        goal = relevant_goal(context)
        anchor = f' and tie it to "{goal.title}"' if goal else ""
        parts = [
            opener,
            "I can't look things up, but here's how I'd attack it: break it into the smallest "
            f"step you can finish in the next 24 hours{anchor}, then make that step "
            "non-negotiable.",
            self._meeting_line(context, turn, "bring what you learn."),
            _pick(
                [
                    "What's one thing you already know works for you?",
                    "What would you do if you knew you couldn't fail?",
                    "What's the first move you can make tonight?",
                ],
                turn,
            ),
        ]
        return " ".join(p for p in parts if p)

    def _meeting_answer(self, context: CoachContext) -> str:
        if context.phase != "tracking":
            return (
                "While you're setting goals, this chat is open any time. Once you move to "
                "tracking, we meet regularly and the chat opens during each meeting."
            )
        lines = []
        if context.active_meeting:
            until = _until(context.active_meeting, context.timezone)
            lines.append(f"We're in a meeting right now, until {until}.")
        if context.next_meeting:
            lines.append(f"Your next meeting is {when(context.next_meeting, context.timezone)}.")
        elif not context.active_meeting:
            lines.append("You have no meeting booked yet: schedule one under Meetings.")
        else:
            lines.append("When this one ends, your next meeting gets scheduled for you.")
        return " ".join(lines)

    def _progress_answer(self, context: CoachContext) -> str:
        lines = []
        for goal in context.goals:
            done = sum(1 for m in goal.milestones if m.achieved)
            if goal.milestones:
                total = len(goal.milestones)
                noun = "milestone" if total == 1 else "milestones"
                lines.append(f'"{goal.title}": {done} of {total} {noun} done.')
            else:
                lines.append(f'"{goal.title}": no milestones yet.')
        return "Here's where you stand. " + " ".join(lines) + " Keep stacking those wins!"

    def _win(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        parts = [
            _pick(
                [
                    f"YES, {name}! That's what I'm talking about!",
                    f"Boom! {name}, that's a real win. Take a second to feel it!",
                    f"Now THAT is momentum, {name}!",
                ],
                turn,
            )
        ]
        goal = relevant_goal(context)
        if goal is None:
            parts.append("Let's turn this energy into a goal: what would you love to achieve next?")
        else:
            milestone = mentioned_milestone(goal, context.message)
            if milestone and not milestone.achieved:
                parts.append(
                    f'"{milestone.title}" on the way to "{goal.title}": huge. Mark it achieved in '
                    "your goals so your progress shows it."
                )
            elif milestone is not None:
                parts.append(f'"{milestone.title}" is in the books for "{goal.title}".')
            else:
                parts.append(
                    f'Every win like this is a vote for the person who reaches "{goal.title}".'
                )
            upcoming = next(
                (m for m in goal.milestones if not m.achieved and m is not milestone), None
            )
            if upcoming:
                parts.append(f'Next up: "{upcoming.title}".')
            elif goal.milestones:
                parts.append(f'That covers every milestone of "{goal.title}". You did it!')
        parts.append(self._meeting_line(context, turn, "bring this story with you."))
        parts.append(
            _pick(
                [
                    "What made it work? Do more of that.",
                    "How are you going to celebrate?",
                    "Ride this momentum: what's your next move?",
                ],
                turn,
            )
        )
        return " ".join(p for p in parts if p)

    def _setback(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        parts = [
            _pick(
                [
                    f"{name}, I hear you. A setback isn't the end of the story, it's where the "
                    "comeback starts.",
                    f"Breathe, {name}. Every champion has days like this. What matters is what "
                    "you do next.",
                    f"{name}, falling behind isn't failing. Quitting is, and you're still here, "
                    "so you haven't quit.",
                ],
                turn,
            )
        ]
        goal = relevant_goal(context)
        if goal is None:
            parts.append(
                "Let's get clear on what you're aiming for, so every setback has a direction to "
                "bounce back toward."
            )
        else:
            upcoming = goal.next_milestone
            target = f'"{upcoming.title}"' if upcoming else f'"{goal.title}"'
            parts.append(
                f"Shrink the next step until it's impossible to miss: ten minutes toward {target} "
                f'today keeps "{goal.title}" alive.'
            )
        if context.active_meeting:
            parts.append("We're in session right now, so let's look at what got in the way.")
        if context.next_meeting or not context.active_meeting:
            parts.append(
                self._meeting_line(context, turn, "we'll check how your comeback is going.")
            )
        parts.append(
            _pick(
                [
                    "What got in the way this time?",
                    "What's the smallest step you can take in the next hour?",
                    "Who or what could help you stay on track this week?",
                ],
                turn,
            )
        )
        return " ".join(p for p in parts if p)

    def _plan(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        opener = _pick(
            [
                f"Let's build it, {name}! Here's your game plan:",
                "Plan time! Clarity is power, so here it is:",
                "Love it: a plan turns a wish into a result. Here we go:",
            ],
            turn,
        )
        goal = relevant_goal(context)
        if goal is None:
            steps = [
                "Write your goal in one sentence: specific, measurable, with a date.",
                "Break it into three milestones you could hit in the next few months.",
                "Add it under Goals, then tell me the first milestone and we'll attack it.",
            ]
        else:
            upcoming = goal.next_milestone
            if upcoming:
                first = (
                    f'Lock in "{upcoming.title}" for "{goal.title}": decide what done looks like.'
                )
            elif goal.milestones:
                first = (
                    f'Celebrate "{goal.title}" (every milestone is done!) and pick what\'s next.'
                )
            else:
                first = f'Break "{goal.title}" into weekly targets you can check off.'
            steps = [
                first,
                "Block 30 minutes in your calendar every day: same time, no negotiation.",
                self._plan_checkpoint(context),
            ]
        numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        closer = _pick(
            [
                "Which step are you starting today?",
                "Ready? Say the word and step 1 is done by tonight.",
                "Which of these feels hardest? Let's solve that one first.",
            ],
            turn,
        )
        return f"{opener}\n{numbered}\n{closer}"

    def _plan_checkpoint(self, context: CoachContext) -> str:
        if context.phase != "tracking":
            return (
                "When your goals and milestones feel right, move to tracking and we'll meet "
                "regularly to keep you accountable."
            )
        if context.next_meeting:
            at = when(context.next_meeting, context.timezone)
            return f"Report back at our next meeting, {at}, with one win and one lesson."
        if context.active_meeting:
            until = _until(context.active_meeting, context.timezone)
            return f"Before this session ends at {until}, tell me the first step you'll take."
        return "Book your next meeting so someone is waiting for your results."

    def _other(self, context: CoachContext, turn: int) -> str:
        name = _first_name(context)
        parts = [
            _pick([f"I hear you, {name}.", f"Thanks for telling me, {name}.", "Got it."], turn)
        ]
        goal = relevant_goal(context)
        if goal:
            parts.append(f'How does this connect to "{goal.title}"?')
        parts.append(self._meeting_line(context, turn, "we'll dig into it together."))
        parts.append(
            _pick(
                [
                    "Tell me more: is this a win, a roadblock, or something you want a plan for?",
                    "Is this a win to celebrate, a setback to beat, or a plan to build?",
                    "Give me a little more: what result do you want here?",
                ],
                turn,
            )
        )
        return " ".join(p for p in parts if p)
