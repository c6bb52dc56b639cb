"""The lesson a turn works on: the session's module (always present), the rest of the course, the
tutoring policy in force and the conversation so far.

Every phase module (planning, answering, hints, quizzing, status) receives a :class:`Lesson`
instead of a :class:`~tutornb.tutors.material.Material` whose module may be missing: the engine
builds a lesson only when the notebook could be read, so no phase needs to check it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tutornb.course.metadata import TutoringPolicy
from tutornb.course.policy import PolicyError, course_file_policy, effective_policy
from tutornb.models import Citation, QuizQuestion, TutorState
from tutornb.tutors.base import TutorTurn
from tutornb.tutors.material import Material, cell_label
from tutornb.tutors.memory import Memory, recall
from tutornb.tutors.retrieval import Hit, NotebookInfo, Passage

log = logging.getLogger("tutornb.tutors.lesson")


@dataclass(frozen=True)
class Lesson:
    material: Material
    module: NotebookInfo
    policy: TutoringPolicy = field(default_factory=TutoringPolicy)
    #: Where the policy came from, for the action log ("notebook", "course file", "server", ...).
    policy_source: str = "defaults"
    memory: Memory = field(default_factory=Memory)
    turn: TutorTurn | None = None
    #: How long a study plan stays in the store's plan cache.
    plan_ttl: timedelta = timedelta(days=7)

    # -- the course ----------------------------------------------------------------------------------

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        return self.material.search(query, **kwargs)

    def terms(self, query: str, *, known_only: bool = False) -> list[str]:
        return self.material.terms(query, known_only=known_only)

    def passage_at(self, citation: Citation) -> Passage | None:
        return self.material.passage_at(citation)

    def open_question(self, state: TutorState) -> QuizQuestion | None:
        if state.quiz is None or state.quiz.open_question_id is None:
            return None
        return self.module.question(state.quiz.open_question_id)

    # -- wording -------------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        module = self.module
        if module.course_title:
            return f"**{module.course_title}**, module **{module.module_title}**"
        return f"**{module.module_title}**"

    def source(self, passage: Passage) -> str:
        """How a passage is named in a reply: its heading and cell, and its notebook when it is
        another module's."""
        label = cell_label(passage.cell_index)
        if passage.notebook_path == self.module.path:
            return f"*{passage.heading}* ({label})"
        other = self.material.module_of(passage.notebook_path)
        name = other.module_title if other else passage.notebook_path
        filename = passage.notebook_path.rsplit("/", 1)[-1]
        return f"*{passage.heading}* in the **{name}** notebook (`{filename}`, {label})"


def policy_for(module: NotebookInfo, root_dir: Path, override: object) -> tuple[TutoringPolicy, str]:
    """The policy in force for the module (server override > notebook > course file > defaults)
    and where it came from. A broken course file or override is logged and skipped: a learner's
    turn does not fail over an instructor's typo (``tutornb course check`` reports it)."""
    folder = (root_dir / module.path).parent
    try:
        course_file = course_file_policy(folder)
    except PolicyError as exc:
        log.warning("course tutor: ignoring the course file's policy: %s", exc)
        course_file = None
    mapping = override if isinstance(override, dict) and override else None
    source = (
        "server" if mapping else "notebook" if module.policy else "course file" if course_file else "defaults"
    )
    try:
        return effective_policy(notebook=module.policy, course_file=course_file, override=mapping), source
    except PolicyError as exc:
        log.warning("course tutor: ignoring the server's policy override: %s", exc)
        return effective_policy(notebook=module.policy, course_file=course_file), source


def lesson_for(
    material: Material,
    turn: TutorTurn | None,
    *,
    policy_override: object = None,
    plan_ttl: timedelta = timedelta(days=7),
) -> Lesson | None:
    """The turn's lesson, or None when the session's notebook cannot be read."""
    if material.module is None:
        return None
    root = turn.root_dir if turn is not None else Path(".")
    policy, source = policy_for(material.module, root, policy_override)
    memory = recall(turn.history, turn.learner_message) if turn is not None else Memory()
    return Lesson(material, material.module, policy, source, memory, turn, plan_ttl)
