"""The tutor protocol: one turn in, a stream of events out.

A tutor keeps no memory of its own. Everything it knows about a session arrives in the :class:`TutorTurn`
(the stored transcript and :class:`~tutornb.models.TutorState`), and everything it decides leaves as events
that the service persists. That is what lets a session restored after a server restart continue exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from tutornb.models import (
    Citation,
    LearnerWork,
    Message,
    Phase,
    QuizPrompt,
    Session,
    StudyPlan,
    TutorState,
)

TurnKind = Literal["message", "answer", "resume", "start"]


@dataclass(frozen=True)
class QuizAnswerInput:
    question_id: str
    choice: int


class PlanCache(Protocol):
    """Where tutors keep study plans between turns and restarts (backed by the store)."""

    def get_plan(self, key: str) -> StudyPlan | None: ...

    def put_plan(self, key: str, plan: StudyPlan, ttl: timedelta) -> None: ...


@dataclass(frozen=True)
class TutorTurn:
    """One thing the learner did, with everything the tutor may use to answer it.

    ``history`` is the stored transcript oldest first; for a ``message`` turn it already ends with the
    (durable) learner message, which is also ``learner_message``.
    """

    kind: TurnKind
    session: Session
    history: list[Message]
    root_dir: Path
    plan_cache: PlanCache
    learner_message: Message | None = None
    answer: QuizAnswerInput | None = None

    @property
    def work(self) -> LearnerWork | None:
        """The learner's own last run (code, cell, error) sent with this message, if any."""
        return self.learner_message.work if self.learner_message is not None else None


@dataclass(frozen=True)
class TextDelta:
    text: str
    type: Literal["delta"] = "delta"


@dataclass(frozen=True)
class CitationEvent:
    citation: Citation
    type: Literal["citation"] = "citation"


@dataclass(frozen=True)
class QuizEvent:
    """Attach a quiz question to the tutor message being streamed."""

    prompt: QuizPrompt
    type: Literal["quiz"] = "quiz"


@dataclass(frozen=True)
class StateUpdate:
    """The tutor's new state. The service validates ``phase`` against the phase machine and persists it."""

    state: TutorState
    phase: Phase | None = None
    current_question_number: int | None = None
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class ActionEvent:
    """A decision worth remembering, appended to the session's action log with its reasoning."""

    action: str
    data: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    type: Literal["action"] = "action"


@dataclass(frozen=True)
class ErrorEvent:
    """The tutor could not answer. The learner's message is already stored and can be retried."""

    code: str
    message: str
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class Interrupted:
    """The reply ended early but what was said is worth keeping: the model's stream broke off
    mid-answer (``cut_off``). The turn stores the text so far, marked, and the learner may retry."""

    reason: Literal["cut_off"] = "cut_off"
    type: Literal["interrupted"] = "interrupted"


TutorEvent = TextDelta | CitationEvent | QuizEvent | StateUpdate | ActionEvent | ErrorEvent | Interrupted


@runtime_checkable
class Tutor(Protocol):
    name: str
    model: str | None

    def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        """Stream events for one turn. Must not raise: failures become an :class:`ErrorEvent`."""
        ...


class TutorFactory(Protocol):
    """What an entry point in the ``tutornb.tutors`` group resolves to."""

    def __call__(self, *, root_dir: Path, options: dict[str, Any]) -> Tutor: ...
