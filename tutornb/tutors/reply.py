"""A tutor's reply under construction: the lines it says, what it cites, the quiz question it
attaches, the decisions it logs, and its one phase change; streamed as the events of one turn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tutornb.lifecycle import can_change_phase
from tutornb.models import Citation, Phase, QuizPrompt, QuizQuestion, TutorState
from tutornb.tutors import quiz as quizzes
from tutornb.tutors import quizorder
from tutornb.tutors.base import (
    ActionEvent,
    CitationEvent,
    PlanCache,
    QuizEvent,
    StateUpdate,
    TextDelta,
    TutorEvent,
)
from tutornb.tutors.retrieval import Passage


@dataclass
class Reply:
    """Built up by the engine during one turn from a copy of the stored state; ``original`` is that
    state as stored, so a state update is only sent when something changed."""

    start_phase: Phase
    phase: Phase
    state: TutorState
    original: dict[str, Any]
    #: The store-backed plan cache of this turn (``TutorTurn.plan_cache``).
    plan_cache: PlanCache | None = None
    lines: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    quiz: QuizPrompt | None = None
    question_number: int | None = None
    actions: list[ActionEvent] = field(default_factory=list)

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)

    def cite(self, item: Passage | Citation) -> None:
        citation = item.citation() if isinstance(item, Passage) else item
        key = (citation.notebook_path, citation.cell_index)
        if key not in {(c.notebook_path, c.cell_index) for c in self.citations}:
            self.citations.append(citation)

    def act(self, action: str, reasoning: str, **data: Any) -> None:
        self.actions.append(ActionEvent(action=action, data=data, reasoning=reasoning))

    def move(self, target: Phase, reasoning: str) -> bool:
        """One phase change per turn, from the stored phase: the service persists it as a single
        step."""
        if target == self.phase:
            return True
        if not can_change_phase(self.start_phase, target):
            self.act(
                "phase_change_refused",
                "The phase machine does not allow this jump; staying in the current phase.",
                **{"from": self.start_phase.value, "to": target.value},
            )
            return False
        self.act("phase_change", reasoning, **{"from": self.phase.value, "to": target.value})
        self.phase = target
        return True

    def ask(self, question: QuizQuestion, *, show: bool = True) -> None:
        """Attach a question of the state's quiz to this message; ``show=False`` attaches it
        without writing it out again, so the latest tutor message always carries the open
        question."""
        assert self.state.quiz is not None
        prompt = quizzes.prompt_for(self.state.quiz, quizorder.shown(self.state, question))
        self.quiz = prompt
        self.question_number = prompt.number
        if show:
            self.say("", *quizzes.prompt_lines(prompt))

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")

    def events(self) -> Iterator[TutorEvent]:
        """Text first (one delta per line, so the panel shows it arriving), then what the text
        refers to."""
        lines = self.text.split("\n")
        for i, line in enumerate(lines):
            yield TextDelta(line + ("\n" if i < len(lines) - 1 else ""))
        yield from self.trailing_events()

    def trailing_events(self) -> Iterator[TutorEvent]:
        """What follows the text: citations, the quiz question, the action log, the new state."""
        for citation in self.citations:
            yield CitationEvent(citation)
        if self.quiz is not None:
            yield QuizEvent(self.quiz)
        yield from self.actions
        changed = self.state.model_dump(mode="json") != self.original
        if changed or self.phase != self.start_phase or self.question_number is not None:
            yield StateUpdate(
                state=self.state,
                phase=self.phase if self.phase != self.start_phase else None,
                current_question_number=self.question_number,
            )
