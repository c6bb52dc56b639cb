"""The course as the tutors see it from a session's notebook: the shared index, the module, the
rest of the course, and how passages are read (topics, relevant paragraphs, exercise hints).

Both tutors build on this: the course tutor quotes it, the model-backed tutor puts it in the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutornb.citations import cell_label as cell_label  # the one formatter (re-exported for the tutors)
from tutornb.models import Citation
from tutornb.tutors.retrieval import (
    CourseIndex,
    Hit,
    NotebookInfo,
    Passage,
    PassageKind,
    index_for,
    tokenize,
)

#: The passages that explain (the ones a learner is sent to read).
CONCEPTS: frozenset[PassageKind] = frozenset({"concept"})


@dataclass(frozen=True)
class Material:
    """The course as seen from the session's notebook (``module``; None when it cannot be read)."""

    index: CourseIndex | None
    module: NotebookInfo | None
    course: tuple[NotebookInfo, ...] = ()

    @property
    def course_id(self) -> str | None:
        return self.module.course_id if self.module else None

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        if self.index is None or self.module is None:
            return []
        return self.index.search(query, course_id=self.course_id, current=self.module.path, **kwargs)

    def terms(self, query: str, *, known_only: bool = False) -> list[str]:
        """The query's search terms as the course spells them (typos corrected, key terms)."""
        if self.index is None or self.module is None:
            return tokenize(query)
        return self.index.analyze(
            query, course_id=self.course_id, current=self.module.path, known_only=known_only
        )

    def passage_at(self, citation: Citation) -> Passage | None:
        for info in self.course:
            if info.path == citation.notebook_path:
                return next((p for p in info.passages if p.cell_index == citation.cell_index), None)
        return None

    def module_of(self, path: str) -> NotebookInfo | None:
        return next((i for i in self.course if i.path == path), None)

    def next_module(self) -> NotebookInfo | None:
        """The course's module after this one, in reading order."""
        paths = [c.path for c in self.course]
        if self.module is None or self.module.path not in paths:
            return None
        position = paths.index(self.module.path)
        return self.course[position + 1] if position + 1 < len(self.course) else None


def load_material(root_dir: Path, notebook_path: str | None) -> Material:
    """Refreshes the course index (re-reading only changed notebooks) and finds the session's
    module."""
    found = index_for(root_dir, notebook_path)
    if found is None:
        return Material(None, None)
    index, rel = found
    module = index.notebook(rel)
    if module is None:
        return Material(index, None)
    course = tuple(index.course_notebooks(module.course_id, module.path))
    if module.path not in {c.path for c in course}:
        course = (*course, module)
    return Material(index, module, course)


def is_tool_passage(passage: Passage) -> bool:
    """Sections that show the tutor itself (``%tutor`` cells): not course topics to plan or list."""
    return "%tutor" in passage.text or "%load_ext" in passage.text


def course_topics(module: NotebookInfo) -> list[Passage]:
    """The module's topics: the first section under each heading, leaving out headings whose
    sections show the tutor itself."""
    tool = {p.heading for p in module.concept_passages() if is_tool_passage(p)}
    first: dict[str, Passage] = {}
    for passage in module.concept_passages():
        if passage.heading not in tool:
            first.setdefault(passage.heading, passage)
    return list(first.values())


def relevant_paragraphs(passage: Passage, terms: list[str], limit: int = 2) -> list[str]:
    """The passage's paragraphs that share most words with the question, in reading order (the
    first ones when none do): a long section is quoted in part, not in full."""
    paragraphs = passage.paragraphs()
    if len(paragraphs) <= limit:
        return paragraphs
    wanted = set(terms)
    scored = [(len(wanted & set(tokenize(p))), i) for i, p in enumerate(paragraphs)]
    chosen = sorted(i for _, i in sorted(scored, key=lambda s: (-s[0], s[1]))[:limit])
    if all(scored[i][0] == 0 for i in chosen):
        chosen = list(range(limit))
    return [paragraphs[i] for i in chosen]


_HINT_LINE_RE = re.compile(r"^\s*>?\s*(?:\*\*|\*|_)?hint:?(?:\*\*|\*|_)?:?\s*(.+)$", re.IGNORECASE)
_EXERCISE_NUMBER_RE = re.compile(r"exercise\s+(\d+)", re.IGNORECASE)


def hint_text(passage: Passage) -> str | None:
    """The exercise's own "Hint:" lines, or None: the tutor gives the course's hint, not one of its
    own."""
    hints = [m.group(1).strip() for line in passage.text.splitlines() if (m := _HINT_LINE_RE.match(line))]
    text = " ".join(hints)
    return text[:1].upper() + text[1:] if text else None


def exercise_number(passage: Passage) -> str | None:
    match = _EXERCISE_NUMBER_RE.search(passage.heading)
    return match.group(1) if match else None


def pick_exercise(text: str, exercises: list[Passage], material: Material) -> Passage:
    """The exercise a hint request is about: by number ("hint 2"), else by its words, else the
    first."""
    number = re.search(r"\b(\d{1,2})\b", text)
    if number:
        for exercise in exercises:
            if exercise_number(exercise) == number.group(1):
                return exercise
    content = [t for t in tokenize(text) if t not in {"hint", "exercis", "exercise", "stuck", "clue"}]
    if content and material.module is not None:
        hits = material.search(
            " ".join(content), notebook=material.module.path, kinds=frozenset({"exercise"}), limit=1
        )
        if hits:
            return hits[0].passage
    return exercises[0]
