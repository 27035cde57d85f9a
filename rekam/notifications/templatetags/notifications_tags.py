"""Template helpers for the notification pages."""

from __future__ import annotations

from django import template

from ..models import Attempt, State

register = template.Library()

_TONES: dict[str, str] = {
    State.QUEUED: "wait",
    State.SENDING: "wait",
    State.SENT: "ready",
    State.DELIVERED: "done",
    State.READ: "done",
    State.FAILED: "fail",
}
_ATTEMPT_TONES: dict[str, str] = {
    Attempt.Outcome.SENT: "done",
    Attempt.Outcome.HELD: "wait",
    Attempt.Outcome.TEMPORARY: "wait",
    Attempt.Outcome.LOST: "wait",
}


@register.filter
def message_tone(state: str) -> str:
    """A CSS modifier for a message's state (the same tones as KTP-el states)."""
    return _TONES.get(state, "wait")


@register.filter
def attempt_tone(outcome: str) -> str:
    return _ATTEMPT_TONES.get(outcome, "fail")
