"""The `anthropic` coach: Claude through the official SDK's Messages API."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import anthropic

from app.coach import CoachContext, CoachUnavailable, Meeting, Turn

log = logging.getLogger(__name__)

# Bounds on what one reply may cost: the turns of history sent and the tokens asked for.
MAX_HISTORY_TURNS = 20
MAX_TOKENS = 700
MAX_DESCRIPTION_CHARS = 300

STYLE = """\
You are the AI coach inside GoalGetter, a goal-coaching app. Your voice is high-energy and \
motivational: warm, direct, vivid and action-oriented. You celebrate wins loudly, reframe \
setbacks as fuel, push for one concrete next step, and ask a powerful question when it helps. \
Keep replies short enough for a chat (at most about 150 words), in plain text without \
headings. Refer to the user's goals and milestones by name when they are relevant.

You are an AI, not a human and not any real person: never claim or imply to be one, never \
speak as or imitate a named real person, and if you sign off, sign as "{coach_name}". You are \
not a therapist, doctor or financial adviser: if the user mentions a crisis or a medical, \
legal or financial emergency, encourage them kindly to contact a qualified professional or \
local emergency services."""


def _when(meeting: Meeting, timezone: str) -> str:
    local = meeting.scheduled_at.astimezone(ZoneInfo(timezone))
    return f"{local:%A %Y-%m-%d %H:%M} {local.tzname()} ({meeting.duration_minutes} minutes)"


def system_prompt(context: CoachContext) -> str:
    """The coaching style plus what the service knows about this user."""
    lines = [STYLE.format(coach_name=context.coach_name), "", "About the user:"]
    lines.append(f"- Name: {context.user_name}")
    if context.phase == "tracking":
        lines.append("- Phase: tracking (working on set goals, meeting the coach regularly)")
    else:
        lines.append("- Phase: goal setting (help them shape clear goals with milestones)")
    now = context.now.astimezone(ZoneInfo(context.timezone))
    lines.append(f"- Local time now: {now:%A %Y-%m-%d %H:%M} {now.tzname()}")
    if context.active_meeting:
        ends = context.active_meeting.ends_at.astimezone(ZoneInfo(context.timezone))
        lines.append(f"- A coaching meeting is in progress until {ends:%H:%M} {ends.tzname()}")
    if context.next_meeting:
        lines.append(f"- Next meeting: {_when(context.next_meeting, context.timezone)}")
    if not context.goals:
        lines.append("- Goals: none yet")
    for goal in context.goals:
        lines.append(f"- Goal ({goal.status}): {goal.title}")
        if goal.description:
            lines.append(f"  Description: {goal.description[:MAX_DESCRIPTION_CHARS]}")
        for milestone in goal.milestones:
            mark = "achieved" if milestone.achieved else "open"
            lines.append(f"  Milestone ({mark}): {milestone.title}")
    return "\n".join(lines)


def conversation(history: tuple[Turn, ...], message: str) -> list[dict]:
    """The last turns and the new message as Messages API messages: starting with the user,
    consecutive turns of one role merged (a failed reply leaves two user turns in a row)."""
    turns = [*history[-MAX_HISTORY_TURNS:], Turn("user", message)]
    messages: list[dict] = []
    for turn in turns:
        if not messages and turn.role != "user":
            continue
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += "\n\n" + turn.content
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


class AnthropicCoach:
    """Claude via the official SDK; any SDK error or timeout is CoachUnavailable."""

    def __init__(self, api_key: str, model: str, base_url: str | None, timeout_s: float):
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._client: anthropic.Anthropic | None = None
        self._client_pid: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping) -> AnthropicCoach:
        """Built from ANTHROPIC_API_KEY, ANTHROPIC_MODEL, ANTHROPIC_BASE_URL, COACH_TIMEOUT_S."""
        return cls(
            api_key=config["ANTHROPIC_API_KEY"],
            model=config["ANTHROPIC_MODEL"],
            base_url=config.get("ANTHROPIC_BASE_URL"),
            timeout_s=config["COACH_TIMEOUT_S"],
        )

    def client(self) -> anthropic.Anthropic:
        """The SDK client of this process (created after fork: connection pools are not
        fork-safe)."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                # No SDK retries: the user is waiting, COACH_TIMEOUT_S bounds the whole call,
                # and the stored message can simply be sent again.
                self._client = anthropic.Anthropic(
                    api_key=self.api_key,
                    base_url=self.base_url,
                    timeout=self.timeout_s,
                    max_retries=0,
                )
                self._client_pid = os.getpid()
            return self._client

    def reply(self, context: CoachContext) -> str:
        """Ask the model for the coach's answer to `context.message`."""
        try:
            response = self.client().messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=system_prompt(context),
                messages=conversation(context.history, context.message),
            )
        except anthropic.AnthropicError as exc:
            log.warning("anthropic coach failed: %s", type(exc).__name__)
            raise CoachUnavailable(type(exc).__name__) from exc
        text = "".join(
            block.text for block in response.content if getattr(block, "type", "") == "text"
        ).strip()
        if not text:
            log.warning("anthropic coach returned no text (stop_reason=%s)", response.stop_reason)
            raise CoachUnavailable("empty reply")
        return text
