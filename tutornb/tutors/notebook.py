"""A course notebook as the tutors read it: its course metadata and its passages.

Markdown is split by headings into passages, keeping callouts ("##### Challenge question:", "Example:",
figure captions) inside the section they belong to; code cells attach to the passage before them as
worked examples, with the output the notebook saved. Both tutors quote and cite these passages.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tutornb.course.metadata import CourseMetadata, ExerciseSpec, TutoringPolicy, notebook_course_metadata
from tutornb.models import Citation, QuizQuestion

PassageKind = Literal["concept", "exercise"]

# -------------------------------------------------------------------------------------------------
# Notebooks -> passages


@dataclass(frozen=True)
class Example:
    """A code cell kept as a worked example of the passage before it."""

    cell_index: int
    source: str
    #: The cell's saved output (text), when the notebook has one: what running it shows.
    output: str | None = None


@dataclass(frozen=True)
class Passage:
    notebook_path: str
    cell_index: int
    heading: str
    text: str
    kind: PassageKind
    examples: tuple[Example, ...] = ()
    level: int = 2

    def citation(self) -> Citation:
        return Citation(notebook_path=self.notebook_path, cell_index=self.cell_index, heading=self.heading)

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.text) if p.strip()]


@dataclass(frozen=True)
class Objective:
    id: str
    text: str


@dataclass(frozen=True)
class NotebookInfo:
    """One notebook as the tutor sees it: its course/module metadata and its passages."""

    path: str
    course_id: str | None
    course_title: str | None
    module_id: str | None
    module_title: str
    objectives: tuple[Objective, ...]
    quiz: tuple[QuizQuestion, ...]
    passages: tuple[Passage, ...]
    content_hash: str
    signature: tuple[int, int] = (0, 0)
    policy: TutoringPolicy | None = None
    exercise_specs: tuple[ExerciseSpec, ...] = ()

    def question(self, question_id: str | None) -> QuizQuestion | None:
        return next((q for q in self.quiz if q.id == question_id), None)

    def objective(self, objective_id: str | None) -> Objective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    def concept_passages(self) -> list[Passage]:
        return [p for p in self.passages if p.kind == "concept" and p.level >= 2]

    def exercises(self) -> list[Passage]:
        """Exercise sections: headed "Exercise ...", or named by an exercise in the metadata."""
        found: dict[str, Passage] = {}
        for passage in self.passages:
            named = any(same_heading(passage.heading, e.heading) for e in self.exercise_specs)
            if passage.kind == "exercise" or named:
                found.setdefault(passage.heading, passage)  # a section's first passage stands for it
        return list(found.values())

    def exercise_spec(self, passage: Passage) -> ExerciseSpec | None:
        """The metadata of an exercise section (hints, solution, expected result), if any."""
        return next((e for e in self.exercise_specs if same_heading(e.heading, passage.heading)), None)


_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def clean_heading(text: str) -> str:
    """Headings as a reader sees them: no Markdown emphasis or code ticks (nor a trailing colon,
    once the heading is known not to be a callout)."""
    return re.sub(r"[`*_]", "", text).strip()


def same_heading(a: str, b: str) -> bool:
    """Headings compared as a reader would (case, emphasis and a trailing colon aside)."""
    return clean_heading(a).rstrip(":").strip().casefold() == clean_heading(b).rstrip(":").strip().casefold()


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(str(s) for s in src)
    return str(src)


def _is_tooling_code(source: str) -> bool:
    """Magics and shell escapes (``%tutor``, ``!pip``) are not worked examples of anything."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return not lines or all(ln.startswith(("%", "!")) for ln in lines)


#: Headings that label a part of the section they sit in rather than start a new one: small
#: callouts ("Example:", "Challenge question:", "Note"), figure captions.
_CALLOUT_RE = re.compile(
    r"^(examples?|challenge( question)?s?|questions?|note|notes|tip|tips|hint|warning|important|"
    r"references?|try it|your turn|(fig(ure)?|image|table)\b.*|(\S+\s?){1,3}:)$",
    re.IGNORECASE,
)
_CALLOUT_WORDS_RE = re.compile(
    r"^(examples?|challenge( question)?s?|questions?|notes?|tips?|hint|warning):$", re.I
)
#: Heading levels this deep are always callouts of their parent section.
CALLOUT_LEVEL = 5


def is_callout(level: int, heading: str) -> bool:
    """A heading that stays inside its parent section (see :data:`_CALLOUT_RE`)."""
    if heading.lower().startswith("exercise"):
        return False
    text = heading.strip()
    if text.endswith(":") and len(text.split()) <= 3 and level < 4 and not _CALLOUT_WORDS_RE.match(text):
        return False  # "### `while` loops:" is a section; "#### Examples:" is a callout
    return level >= CALLOUT_LEVEL or bool(_CALLOUT_RE.match(text))


def _split_markdown(source: str) -> list[tuple[int, str | None, list[str]]]:
    """(level, heading or None for text before the first heading, body lines) per section of one
    cell. A callout heading stays in its section's body, as a bold line."""
    sections: list[tuple[int, str | None, list[str]]] = [(0, None, [])]
    in_fence = False
    for line in source.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_RE.match(line)
        if match and not is_callout(len(match.group(1)), clean_heading(match.group(2))):
            sections.append((len(match.group(1)), clean_heading(match.group(2)).rstrip(":").strip(), []))
        elif match:
            sections[-1][2].append(f"**{clean_heading(match.group(2))}**")
        else:
            sections[-1][2].append(line)
    return sections


_OUTPUT_LIMIT = 400


def _output_text(cell: dict[str, Any]) -> str | None:
    """The text a code cell's saved outputs show (stream or text/plain), shortened."""
    parts: list[str] = []
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        if output.get("output_type") == "stream":
            parts.append(_joined(output.get("text")))
        elif output.get("output_type") in {"execute_result", "display_data"}:
            data = output.get("data")
            if isinstance(data, dict) and "text/plain" in data:
                parts.append(_joined(data["text/plain"]))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    text = "\n".join(p.rstrip() for p in parts if p.strip()).strip()
    if not text:
        return None
    return text if len(text) <= _OUTPUT_LIMIT else text[: _OUTPUT_LIMIT - 1] + "…"


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value or "")


def _parse_meta(document: dict[str, Any]) -> tuple[CourseMetadata, tuple[Objective, ...]]:
    meta = notebook_course_metadata(document).metadata
    objectives = tuple(Objective(id=o.id, text=o.text) for o in meta.objectives)
    # A question whose answer is not one of its choices cannot be graded: skipped here, reported by
    # ``tutornb course check``.
    meta.quiz = [q for q in meta.quiz if q.answer < len(q.choices)]
    return meta, objectives


def parse_notebook(data: bytes, rel_path: str, signature: tuple[int, int] = (0, 0)) -> NotebookInfo:
    """Passages from a notebook's JSON. Markdown is split by headings (callouts stay inside their
    section); code cells attach to the passage before them, which is where a course puts the
    example of what it just explained. A heading with neither text nor code of its own (a chapter
    title right before its first section) is no passage."""
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("not a notebook")
    meta, objectives = _parse_meta(doc)
    raw_cells = doc.get("cells")
    cells: list[Any] = raw_cells if isinstance(raw_cells, list) else []

    drafts: list[dict[str, Any]] = []
    title: str | None = None
    current_heading = ""
    current_level = 2
    current_kind: PassageKind = "concept"
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        source = _source(cell)
        if cell.get("cell_type") == "markdown":
            for level, heading, body in _split_markdown(source):
                text = "\n".join(body).strip()
                if heading is None:
                    if not text:
                        continue
                    if drafts and drafts[-1]["heading"] == current_heading and not drafts[-1]["examples"]:
                        # More text of the same section in the next cell: one passage.
                        drafts[-1]["text"] = (drafts[-1]["text"] + "\n\n" + text).strip()
                        drafts[-1]["cells"].append(index)
                        continue
                    heading_text, kind, lvl = current_heading, current_kind, current_level
                else:
                    if level == 1 and title is None:
                        title = heading
                    heading_text = heading
                    kind = "exercise" if heading.lower().startswith("exercise") else "concept"
                    lvl = level
                    current_heading, current_kind, current_level = heading_text, kind, lvl
                drafts.append(
                    {
                        "cell": index,
                        "cells": [index],
                        "heading": heading_text,
                        "text": text,
                        "kind": kind,
                        "level": lvl,
                        "examples": [],
                    }
                )
        elif cell.get("cell_type") == "code" and drafts and not _is_tooling_code(source):
            drafts[-1]["examples"].append(
                Example(cell_index=index, source=source.strip(), output=_output_text(cell))
            )

    passages = tuple(
        Passage(
            notebook_path=rel_path,
            cell_index=d["cell"],
            heading=d["heading"] or title or Path(rel_path).stem,
            text=d["text"],
            kind=d["kind"],
            examples=tuple(d["examples"]),
            level=d["level"],
        )
        for d in drafts
        if d["text"] or d["examples"]
    )
    module_title = meta.module_title or title or Path(rel_path).stem.replace("_", " ")
    return NotebookInfo(
        path=rel_path,
        course_id=meta.course_id,
        course_title=meta.course_title,
        module_id=meta.module_id,
        module_title=str(module_title),
        objectives=objectives,
        quiz=tuple(meta.quiz),
        passages=passages,
        content_hash=hashlib.sha256(data).hexdigest(),
        signature=signature,
        policy=meta.policy,
        exercise_specs=tuple(meta.exercises),
    )
