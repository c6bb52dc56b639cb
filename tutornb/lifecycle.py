"""The two state machines of a session: its status and its teaching phase.

Kept free of I/O so the store, the service and the property tests share one definition.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tutornb.errors import InvalidSessionState
from tutornb.models import ActionLogEntry, Phase, Status

log = logging.getLogger("tutornb")

STATUS_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ACTIVE: frozenset({Status.PAUSED, Status.CLOSED}),
    Status.PAUSED: frozenset({Status.ACTIVE, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

#: The teaching loop: find out what the learner wants, plan, teach, quiz, look at the answers, then
#: the next topic. Staying in the same phase is always allowed (a no-op).
PHASE_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.INTAKE: frozenset({Phase.PLANNING, Phase.LEARNING}),
    Phase.PLANNING: frozenset({Phase.LEARNING, Phase.QUIZZING}),
    Phase.LEARNING: frozenset({Phase.QUIZZING, Phase.PLANNING}),
    Phase.QUIZZING: frozenset({Phase.ANALYZING, Phase.LEARNING}),
    Phase.ANALYZING: frozenset({Phase.PLANNING, Phase.LEARNING, Phase.COMPLETED}),
    Phase.COMPLETED: frozenset({Phase.PLANNING, Phase.LEARNING}),
}

_ACTIONS: dict[str, Status] = {"pause": Status.PAUSED, "resume": Status.ACTIVE, "close": Status.CLOSED}


def can_change_status(current: Status, target: Status) -> bool:
    return target in STATUS_TRANSITIONS[current]


def check_status_change(current: Status, target: Status) -> None:
    if not can_change_status(current, target):
        raise InvalidSessionState(f"Cannot move a {current.value} session to {target.value}.")


def status_for_action(action: str) -> Status:
    """Maps the REST/frame verbs (pause, resume, close) to their target status."""
    return _ACTIONS[action]


def can_change_phase(current: Phase, target: Phase) -> bool:
    return current == target or target in PHASE_TRANSITIONS[current]


def check_phase_change(current: Phase, target: Phase) -> None:
    if not can_change_phase(current, target):
        raise InvalidSessionState(f"Cannot move from phase {current.value} to {target.value}.")


def refused_phase_change(current: Phase, target: Phase) -> ActionLogEntry | None:
    """None when a tutor may move the session from ``current`` to ``target``; else the action-log
    entry that records the refusal (the phase stays, the turn goes on), logged once here."""
    if can_change_phase(current, target):
        return None
    log.info("tutornb: refused phase change %s -> %s", current.value, target.value)
    return ActionLogEntry(
        action="phase_change_refused",
        data={"from": current.value, "to": target.value},
        reasoning="The phase machine does not allow this jump; phase unchanged.",
    )


def is_expired(status: Status, last_active_at: datetime, now: datetime, expiry_days: float) -> bool:
    """Idle sessions past the expiry close; a closed session never expires again."""
    if status is Status.CLOSED or expiry_days <= 0:
        return False
    return now - last_active_at > timedelta(days=expiry_days)


def accepts_messages(status: Status) -> bool:
    return status is Status.ACTIVE
