"""The progress report a learner shares: a versioned pydantic model (``schema_version``).

It is the only thing that leaves a learner's home: the class view is built from these files and
nothing else, so a field that is not here is never shared. Uncovered questions are a count unless
the learner explicitly consents to sharing their text (``includes_questions``).

Readers refuse a report with a newer ``schema_version`` than they know (its meaning may have
changed) instead of misreading it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tutornb.models import Phase

#: Bumped when the report's meaning changes; readers refuse newer versions.
REPORT_SCHEMA_VERSION = 1
REPORT_FORMAT: Final = "tutornb.progress"

Text = Annotated[str, StringConstraints(max_length=2_000)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuizResult(_Report):
    """One quiz question as this learner answered it, over every session of the module."""

    question_id: Ident
    #: The question as the learner saw it (from the tutor's quiz message), when known.
    question: Text | None = None
    objective: Ident | None = None
    attempts: int = Field(ge=1)
    first_correct: bool
    latest_correct: bool
    #: Every choice picked, in order (the class view counts the wrong ones).
    choices: list[int] = Field(default_factory=list, max_length=1_000)


class MisconceptionCount(_Report):
    question_id: Ident | None = None
    objective: Ident | None = None
    #: The wrong choice whose pick revealed the misconception, when known.
    choice: int | None = None
    #: That choice's text as the learner saw it, when known.
    choice_text: Text | None = None
    text: Text
    count: int = Field(ge=1)


class UncoveredQuestion(_Report):
    """A question the course material did not cover; only present with the learner's consent."""

    text: Text
    terms: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=50
    )


class ModuleProgress(_Report):
    module_id: Ident | None = None
    module_title: Text | None = None
    sessions: int = Field(ge=0)
    #: The phase of the module's most recently active session.
    phase: Phase
    time_active_seconds: float = Field(ge=0)
    #: 0.0 .. 1.0 per objective id, as the tutor last assessed it.
    mastery: dict[Ident, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    quiz: list[QuizResult] = Field(default_factory=list)
    misconceptions: list[MisconceptionCount] = Field(default_factory=list)
    uncovered_count: int = Field(default=0, ge=0)
    uncovered: list[UncoveredQuestion] = Field(default_factory=list, max_length=1_000)


class ProgressReport(_Report):
    format: Literal["tutornb.progress"] = REPORT_FORMAT
    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    learner: Ident
    course_id: Ident | None = None
    course_title: Text | None = None
    #: True only when the learner consented to sharing the text of uncovered questions.
    includes_questions: bool = False
    modules: list[ModuleProgress] = Field(default_factory=list)
