"""The one reader of a notebook's ``metadata.tutornb`` (the course format).

The kernel (:mod:`tutornb.kernel.context`), the server, both tutors and the instructor's course
checker all read course metadata through this module, so a notebook means the same thing
everywhere. Two layouts are accepted, because both are in use in published courses:

* flat: ``course_id``, ``course_title``, ``module_id``, ``module_title``;
* nested: ``course: {id, title}``, ``module: {id, title}``.

Objectives may be plain strings or ``{id, text}`` (``title`` is read as ``text``). The flat keys win
when both are given.

Two ways to read:

* :func:`read_course_metadata` is lenient: it is what a learner's session uses, so one malformed quiz
  question or objective is skipped (and reported in :attr:`CourseReading.problems`) instead of hiding
  the whole module.
* :func:`course_metadata_schema` is the published JSON Schema of the strict format, generated from the
  same models; the course checker (``tutornb course check``) reports every problem the lenient reader
  skipped plus the cross-field rules a schema cannot say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutornb.models import QuizQuestion

METADATA_KEY = "tutornb"

SolutionPolicy = Literal["never", "after_attempts", "on_request"]
OffTopicPolicy = Literal["decline", "redirect", "answer"]


class _Spec(BaseModel):
    # defer_build: built on first use, not when a fresh kernel imports this for ``%tutor``.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ObjectiveSpec(_Spec):
    """A learning objective of a module; quiz questions and mastery are keyed by its ``id``."""

    id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=500)


class ExerciseSpec(_Spec):
    """An exercise of a module, named by the heading of its Markdown cell.

    ``hints`` are the instructor's own rungs of the hint ladder (the tutor drafts rungs from the
    material when there are none); ``solution`` is shown only when the tutoring policy allows it;
    ``expected`` is the result a correct solution produces, so the tutor can check a learner's stated
    result; ``graded`` marks exercises that count towards a grade (a policy can treat them apart).
    """

    id: str = Field(min_length=1, max_length=200)
    heading: str = Field(min_length=1, max_length=500)
    hints: list[str] = Field(default_factory=list, max_length=20)
    solution: str | None = Field(default=None, max_length=20_000)
    expected: str | None = Field(default=None, max_length=2_000)
    graded: bool = False


class TutoringPolicy(_Spec):
    """How the tutor may help in a course. Server configuration overrides it (see
    ``TutorNBApp.policy``): on a hub the admin's configuration is not the learner's to edit.

    * ``solutions``: ``never`` (hints only), ``after_attempts`` (the full solution once the learner
      has made ``attempts`` attempts or asked for that many hints on the exercise), ``on_request``
      (whenever the learner asks for it).
    * ``graded_solutions``: the same choice for exercises marked ``graded`` (default ``never``).
    * ``hints``: whether the hint ladder is offered at all.
    * ``tutor`` / ``model``: which tutor (entry-point name) and model the course prefers.
    * ``instructions``: extra instructions for a model-backed tutor.
    * ``off_topic``: ``decline`` (say it is not in this course), ``redirect`` (say so and point to the
      nearest sections that are), ``answer`` (a model-backed tutor may answer, marked as outside the
      course).
    * ``shuffle_choices``: show each learner the quiz choices in an order of their own (stable for
      the session; see :mod:`tutornb.tutors.quizorder`).
    """

    solutions: SolutionPolicy = "after_attempts"
    attempts: int = Field(default=2, ge=1, le=20)
    graded_solutions: SolutionPolicy = "never"
    hints: bool = True
    tutor: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    instructions: str = Field(default="", max_length=8_000)
    off_topic: OffTopicPolicy = "redirect"
    shuffle_choices: bool = False


class CourseMetadata(_Spec):
    """The strict course format of ``metadata.tutornb`` (flat layout); the published JSON Schema."""

    course_id: str | None = Field(default=None, max_length=200)
    course_title: str | None = Field(default=None, max_length=500)
    module_id: str | None = Field(default=None, max_length=200)
    module_title: str | None = Field(default=None, max_length=500)
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    quiz: list[QuizQuestion] = Field(default_factory=list)
    exercises: list[ExerciseSpec] = Field(default_factory=list)
    policy: TutoringPolicy | None = None


@dataclass(frozen=True)
class MetadataProblem:
    """One problem in a notebook's metadata: ``field`` is a dotted path such as ``quiz.2.answer``."""

    field: str
    message: str


@dataclass(frozen=True)
class CourseReading:
    """What the lenient reader made of a notebook's metadata, and what it had to skip."""

    metadata: CourseMetadata
    present: bool
    problems: tuple[MetadataProblem, ...] = field(default=())


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)) and str(value).strip():
        return str(value).strip()[:500]
    return None


def _nested(meta: Mapping[str, Any], key: str, sub: str) -> object:
    inner = meta.get(key)
    return inner.get(sub) if isinstance(inner, Mapping) else None


def _objective(item: object, position: int) -> ObjectiveSpec | None:
    if isinstance(item, str) and item.strip():
        return ObjectiveSpec(id=f"objective-{position}", text=item)
    if isinstance(item, Mapping):
        text = item.get("text") or item.get("title")
        ident = item.get("id") or f"objective-{position}"
        if isinstance(text, str) and text.strip() and isinstance(ident, (str, int)):
            return ObjectiveSpec(id=str(ident), text=text)
    return None


def _errors(prefix: str, exc: ValidationError) -> list[MetadataProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in (prefix, *error["loc"]) if str(part))
        problems.append(MetadataProblem(where, error["msg"]))
    return problems


def _items(
    meta: Mapping[str, Any], key: str, model: type[QuizQuestion] | type[ExerciseSpec]
) -> tuple[list[Any], list[MetadataProblem]]:
    raw = meta.get(key)
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [MetadataProblem(key, "must be a list")]
    found: list[Any] = []
    problems: list[MetadataProblem] = []
    for position, item in enumerate(raw):
        try:
            found.append(model.model_validate(item))
        except ValidationError as exc:
            problems.extend(_errors(f"{key}.{position}", exc))
    return found, problems


def read_course_metadata(raw: object) -> CourseReading:
    """Reads ``metadata.tutornb`` (either layout) leniently; see the module docstring."""
    if not isinstance(raw, Mapping) or not raw:
        invalid = () if raw is None else (MetadataProblem(METADATA_KEY, "must be an object"),)
        return CourseReading(CourseMetadata(), present=False, problems=invalid)
    problems: list[MetadataProblem] = []

    objectives: list[ObjectiveSpec] = []
    raw_objectives = raw.get("objectives")
    if raw_objectives is not None and not isinstance(raw_objectives, list):
        problems.append(MetadataProblem("objectives", "must be a list"))
    for position, item in enumerate(raw_objectives if isinstance(raw_objectives, list) else [], 1):
        objective = _objective(item, position)
        if objective is None:
            problems.append(MetadataProblem(f"objectives.{position - 1}", "needs a text"))
        else:
            objectives.append(objective)

    quiz, quiz_problems = _items(raw, "quiz", QuizQuestion)
    exercises, exercise_problems = _items(raw, "exercises", ExerciseSpec)
    problems += quiz_problems + exercise_problems

    policy: TutoringPolicy | None = None
    if raw.get("policy") is not None:
        try:
            policy = TutoringPolicy.model_validate(raw["policy"])
        except ValidationError as exc:
            problems.extend(_errors("policy", exc))

    metadata = CourseMetadata(
        course_id=_text(raw.get("course_id")) or _text(_nested(raw, "course", "id")),
        course_title=_text(raw.get("course_title")) or _text(_nested(raw, "course", "title")),
        module_id=_text(raw.get("module_id")) or _text(_nested(raw, "module", "id")),
        module_title=_text(raw.get("module_title")) or _text(_nested(raw, "module", "title")),
        objectives=objectives,
        quiz=quiz,
        exercises=exercises,
        policy=policy,
    )
    return CourseReading(metadata, present=True, problems=tuple(problems))


def notebook_course_metadata(notebook: Mapping[str, Any]) -> CourseReading:
    """:func:`read_course_metadata` of a notebook document (a parsed ``.ipynb`` dict)."""
    metadata = notebook.get("metadata")
    return read_course_metadata(metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None)


def course_metadata_schema() -> dict[str, Any]:
    """The published JSON Schema of ``metadata.tutornb`` (strict, flat layout)."""
    schema = CourseMetadata.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tutornb course metadata (metadata.tutornb)"
    return schema
