"""``tutornb course check``: every rule a course's metadata must follow, one finding per problem.

The lenient reader (:mod:`tutornb.course.metadata`) lets a learner's session go on past a malformed
question; an instructor wants every such problem before a learner meets it. So the checker reports
what the reader skipped (the schema: the same pydantic models the published ``schema.json`` comes
from) plus the rules across fields and notebooks that no schema can say: a quiz answer in range,
misconceptions only on wrong choices, quiz objectives that exist, unique ids, one ``course_id`` per
folder, exercise headings that exist in the notebook, and a valid course file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutornb.course.metadata import (
    METADATA_KEY,
    CourseMetadata,
    ExerciseSpec,
    TutoringPolicy,
    notebook_course_metadata,
)
from tutornb.course.policy import COURSE_FILE, PolicyError, read_course_file
from tutornb.instructor.answerpositions import answer_position_warning
from tutornb.instructor.notebooks import NotebookReadError, headings, normalize_heading, read_notebook
from tutornb.models import QuizQuestion

#: Top-level keys of ``metadata.tutornb``: the flat format's fields plus the nested layout's two.
_KNOWN_KEYS = frozenset(CourseMetadata.model_fields) | {"course", "module"}


class CourseFile(BaseModel):
    """The course file (:data:`tutornb.course.policy.COURSE_FILE`) of a folder of notebooks."""

    model_config = ConfigDict(extra="forbid")

    course_id: str | None = Field(default=None, min_length=1, max_length=200)
    course_title: str | None = Field(default=None, max_length=500)
    policy: TutoringPolicy | None = None


@dataclass(frozen=True)
class Finding:
    """A problem (or, with ``warning``, something worth a look that is still valid)."""

    where: str
    field: str
    message: str
    warning: bool = False

    def line(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass
class _Notebook:
    display: str
    folder: Path
    metadata: CourseMetadata | None = None
    quiz_ids: list[tuple[int, str]] = field(default_factory=list)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _quiz_rules(where: str, position: int, question: QuizQuestion, objectives: set[str]) -> list[Finding]:
    found: list[Finding] = []
    prefix = f"quiz.{position}"
    count = len(question.choices)
    if question.answer >= count:
        found.append(
            Finding(where, f"{prefix}.answer", f"{question.answer} is out of range (choices 0-{count - 1})")
        )
    for key in question.misconceptions:
        at = f"{prefix}.misconceptions.{key}"
        if not (key.isascii() and key.isdigit()):  # "²" is a digit to str.isdigit, not to int()
            found.append(Finding(where, at, 'the key must be a choice index ("0", "1", ...)'))
        elif int(key) >= count:
            found.append(Finding(where, at, f"there is no choice {key} (choices 0-{count - 1})"))
        elif int(key) == question.answer:
            found.append(
                Finding(where, at, "keyed to the right answer; misconceptions belong to wrong choices")
            )
    if question.objective is not None and question.objective not in objectives:
        found.append(
            Finding(
                where, f"{prefix}.objective", f"{question.objective!r} is not an objective of this notebook"
            )
        )
    return found


def _known_tutors() -> set[str]:
    from importlib.metadata import entry_points

    return {entry.name for entry in entry_points(group="tutornb.tutors")}


def _policy_rules(where: str, prefix: str, policy: TutoringPolicy | None) -> list[Finding]:
    """A policy that names a tutor nobody installed would fail only when a learner starts."""
    if policy is None or policy.tutor is None:
        return []
    known = _known_tutors()
    if policy.tutor in known:
        return []
    listing = ", ".join(sorted(known)) or "none installed"
    return [
        Finding(where, f"{prefix}.tutor", f"no tutor is registered as {policy.tutor!r} (known: {listing})")
    ]


def _duplicates(where: str, key: str, ids: Iterable[tuple[int, str]]) -> list[Finding]:
    seen: dict[str, int] = {}
    found = []
    for position, ident in ids:
        if ident in seen:
            found.append(
                Finding(where, f"{key}.{position}.id", f"duplicate id {ident!r} (also {key}.{seen[ident]})")
            )
        else:
            seen[ident] = position
    return found


def _valid_items(raw: object, model: type[BaseModel]) -> list[tuple[int, Any]]:
    """(position, model) for each item of a raw list that validates; the reader reported the rest."""
    if not isinstance(raw, list):
        return []
    valid = []
    for position, item in enumerate(raw):
        try:
            valid.append((position, model.model_validate(item)))
        except ValidationError:
            continue
    return valid


def check_notebook(where: str, document: Mapping[str, Any]) -> tuple[list[Finding], CourseMetadata | None]:
    """The findings of one notebook, and its metadata as read (``None`` when it has none)."""
    reading = notebook_course_metadata(document)
    if not reading.present:
        if reading.problems:
            return [Finding(where, p.field, p.message) for p in reading.problems], None
        return [
            Finding(where, METADATA_KEY, "no course metadata (tutornb course init drafts it)", True)
        ], None
    raw: Mapping[str, Any] = document["metadata"][METADATA_KEY]
    meta = reading.metadata
    found = [Finding(where, p.field, p.message) for p in reading.problems]
    found += [Finding(where, key, "unknown field") for key in raw if key not in _KNOWN_KEYS]
    for key in ("course_id", "module_id"):
        if getattr(meta, key) is None:
            found.append(Finding(where, key, "missing"))

    objective_ids = [(i, o.id) for i, o in enumerate(meta.objectives)]
    found += _duplicates(where, "objectives", objective_ids)
    questions = _valid_items(raw.get("quiz"), QuizQuestion)
    found += _duplicates(where, "quiz", ((i, q.id) for i, q in questions))
    known = {ident for _, ident in objective_ids}
    for position, question in questions:
        found += _quiz_rules(where, position, question, known)

    exercises = _valid_items(raw.get("exercises"), ExerciseSpec)
    found += _duplicates(where, "exercises", ((i, e.id) for i, e in exercises))
    titles = {h.text for h in headings(dict(document))}
    for position, exercise in exercises:
        if normalize_heading(exercise.heading) not in titles:
            found.append(
                Finding(
                    where,
                    f"exercises.{position}.heading",
                    f"no Markdown heading {exercise.heading!r} in the notebook",
                )
            )

    found += _policy_rules(where, "policy", meta.policy)
    if not meta.objectives:
        found.append(Finding(where, "objectives", "no objectives (mastery cannot be reported)", True))
    if not meta.quiz:
        found.append(Finding(where, "quiz", "no quiz questions", True))
    return found, meta


def check_course_file(folder: Path) -> tuple[list[Finding], CourseFile | None]:
    where = _display(folder / COURSE_FILE)
    try:
        data = read_course_file(folder)
    except PolicyError as exc:
        return [Finding(where, "file", str(exc).removeprefix(f"{COURSE_FILE} "))], None
    if data is None:
        return [], None
    try:
        course_file = CourseFile.model_validate(data)
    except ValidationError as exc:
        return [
            Finding(where, ".".join(str(p) for p in error["loc"]) or "file", error["msg"])
            for error in exc.errors(include_url=False)
        ], None
    return _policy_rules(where, "policy", course_file.policy), course_file


def _folder_rules(notebooks: list[_Notebook], course_file: CourseFile | None) -> list[Finding]:
    """One ``course_id`` per folder (the course file's, else the most common), unique module and
    question ids across the folder's course."""
    found: list[Finding] = []
    with_meta = [nb for nb in notebooks if nb.metadata is not None and nb.metadata.course_id]
    ids = Counter(nb.metadata.course_id for nb in with_meta if nb.metadata)
    expected = (course_file.course_id if course_file else None) or (ids.most_common(1)[0][0] if ids else None)
    source = COURSE_FILE if course_file and course_file.course_id else "the other notebooks of this folder"
    modules: dict[str, str] = {}
    questions: dict[str, str] = {}
    for nb in with_meta:
        assert nb.metadata is not None
        if nb.metadata.course_id != expected:
            found.append(
                Finding(
                    nb.display, "course_id", f"{nb.metadata.course_id!r} differs from {expected!r} ({source})"
                )
            )
        module = nb.metadata.module_id
        if module:
            if module in modules:
                found.append(
                    Finding(nb.display, "module_id", f"duplicate module {module!r} (also {modules[module]})")
                )
            modules.setdefault(module, nb.display)
        for position, ident in nb.quiz_ids:
            if ident in questions and questions[ident] != nb.display:
                found.append(
                    Finding(
                        nb.display,
                        f"quiz.{position}.id",
                        f"duplicate id {ident!r} (also in {questions[ident]})",
                    )
                )
            questions.setdefault(ident, nb.display)
    return found


def check_course(paths: list[Path]) -> list[Finding]:
    """Every finding for the notebooks ``paths`` (from :func:`find_notebooks`), grouped by folder."""
    findings: list[Finding] = []
    by_folder: dict[Path, list[_Notebook]] = {}
    for path in paths:
        display = _display(path)
        notebook = _Notebook(display, path.parent)
        try:
            document = read_notebook(path)
        except NotebookReadError as exc:
            where, _, problem = str(exc).partition(": ")
            findings.append(Finding(display, where, problem))
        else:
            try:
                found, notebook.metadata = check_notebook(display, document)
                raw_quiz = document.get("metadata", {}).get(METADATA_KEY, {})
                raw_quiz = raw_quiz.get("quiz") if isinstance(raw_quiz, dict) else None
                notebook.quiz_ids = [(i, q.id) for i, q in _valid_items(raw_quiz, QuizQuestion)]
            except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
                # A shape no rule foresaw: this notebook's line says so, the others are still checked.
                found = [Finding(display, METADATA_KEY, f"cannot be checked ({type(exc).__name__})")]
                notebook.metadata = None
            findings += found
        by_folder.setdefault(path.parent, []).append(notebook)
    for folder, notebooks in by_folder.items():
        file_findings, course_file = check_course_file(folder)
        findings += file_findings
        findings += _folder_rules(notebooks, course_file)
        questions = [q for nb in notebooks if nb.metadata for q in nb.metadata.quiz]
        position = answer_position_warning(questions)
        if position:
            findings.append(Finding(_display(folder), "quiz", position, warning=True))
    return findings
