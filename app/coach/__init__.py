"""Coach reply providers behind one small interface: `provider.reply(context) -> str`.

A provider is built from the app's settings (`from_config`) and answers one user message from a
`CoachContext` of plain values; it raises `CoachUnavailable` when it cannot answer. The chat
service picks the provider named by COACH_PROVIDER, stores messages and maps failures to HTTP.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class CoachUnavailable(Exception):
    """The provider could not produce a reply (outage, timeout, empty answer)."""


@dataclass(frozen=True)
class Milestone:
    title: str
    achieved: bool


@dataclass(frozen=True)
class Goal:
    title: str
    description: str = ""
    status: str = "active"
    milestones: tuple[Milestone, ...] = ()

    @property
    def next_milestone(self) -> Milestone | None:
        """The first milestone not achieved yet, if any."""
        return next((m for m in self.milestones if not m.achieved), None)


@dataclass(frozen=True)
class Meeting:
    scheduled_at: datetime
    ends_at: datetime
    duration_minutes: int


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class CoachContext:
    """Everything a provider may use to answer `message` (all plain values, oldest turn first)."""

    message: str
    user_name: str
    phase: str  # "goal_setting" | "tracking"
    timezone: str
    now: datetime
    coach_name: str
    goals: tuple[Goal, ...] = ()
    active_meeting: Meeting | None = None
    next_meeting: Meeting | None = None
    history: tuple[Turn, ...] = field(default_factory=tuple)

    @property
    def previous_reply(self) -> str | None:
        """The coach's last reply before this message, if any."""
        return next((t.content for t in reversed(self.history) if t.role == "assistant"), None)


class CoachProvider(Protocol):
    """What every provider implements."""

    @classmethod
    def from_config(cls, config: Mapping) -> CoachProvider: ...

    def reply(self, context: CoachContext) -> str: ...


# Provider classes by COACH_PROVIDER name, as import paths: only the chosen one is imported
# (the Anthropic SDK alone takes seconds to import).
PROVIDERS = {
    "offline": "app.coach.offline:OfflineCoach",
    "anthropic": "app.coach.anthropic_provider:AnthropicCoach",
}


def providers() -> dict[str, str]:
    """Provider import paths by COACH_PROVIDER name."""
    return dict(PROVIDERS)


def provider_class(name: str) -> type:
    """The provider class COACH_PROVIDER `name` names, imported now."""
    module, _, attribute = PROVIDERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def build_provider(config: Mapping) -> CoachProvider:
    """The provider COACH_PROVIDER names, built from `config`."""
    return provider_class(config["COACH_PROVIDER"]).from_config(config)
