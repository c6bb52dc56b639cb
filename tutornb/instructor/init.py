"""``tutornb course init``: a draft ``metadata.tutornb`` for notebooks that have none.

The draft is a starting point the instructor edits, never a replacement: a notebook that already has
``metadata.tutornb`` is left byte for byte as it is. The module is named after the notebook's title
(its first heading, else its file name) and the objectives are drafted from its section headings;
the quiz stays empty for the instructor to write (``tutornb course check`` then warns about it).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutornb.atomicfile import replace_file
from tutornb.course.metadata import METADATA_KEY, CourseMetadata, ObjectiveSpec
from tutornb.instructor.notebooks import headings, read_notebook

#: At most this many objectives are drafted (a module with more sections gets the first ones).
MAX_DRAFT_OBJECTIVES = 8


@dataclass(frozen=True)
class InitResult:
    path: Path
    added: bool
    objectives: int = 0


def slugify(text: str) -> str:
    """``"Lists & loops"`` -> ``"lists-loops"``: ids an instructor can read and type."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "module"


def draft_metadata(document: dict[str, Any], path: Path, course_id: str, course_title: str) -> CourseMetadata:
    found = headings(document)
    title_heading = next((h for h in found if h.level == 1), None)
    module_title = title_heading.text if title_heading else path.stem.replace("_", " ").strip()
    sections = [h for h in found if h is not title_heading and h.level == 2] or [
        h for h in found if h is not title_heading and h.level > 1
    ]
    objectives: list[ObjectiveSpec] = []
    used: set[str] = set()
    for heading in sections[:MAX_DRAFT_OBJECTIVES]:
        ident = slugify(heading.text)
        while ident in used:
            ident += "-2"
        used.add(ident)
        objectives.append(ObjectiveSpec(id=ident, text=heading.text))
    return CourseMetadata(
        course_id=course_id,
        course_title=course_title,
        module_id=slugify(module_title),
        module_title=module_title,
        objectives=objectives,
    )


def init_notebook(path: Path, course_id: str, course_title: str) -> InitResult:
    """Adds a draft to ``path`` unless it has ``metadata.tutornb``; the rewrite is atomic and keeps
    everything else of the notebook (key order, cells, outputs) as it was."""
    document = read_notebook(path)
    metadata = document.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("notebook: metadata is not an object")
    if METADATA_KEY in metadata:
        return InitResult(path, added=False)
    draft = draft_metadata(document, path, course_id, course_title)
    metadata[METADATA_KEY] = draft.model_dump(mode="json", include={*_DRAFT_FIELDS})
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    replace_file(path, text.encode("utf-8"))
    return InitResult(path, added=True, objectives=len(draft.objectives))


def folder_course(folder: Path) -> tuple[str, str | None] | None:
    """The course id (and title) a folder already has: its course file's, else the most common
    among its notebooks that have ``metadata.tutornb``. A draft must not start a second course in
    the folder (``course check`` would then fail on the mismatch)."""
    from collections import Counter

    from tutornb.course.metadata import notebook_course_metadata
    from tutornb.course.policy import PolicyError, read_course_file
    from tutornb.instructor.notebooks import NotebookReadError

    try:
        course_file = read_course_file(folder) or {}
    except PolicyError:
        course_file = {}
    if isinstance(course_file.get("course_id"), str) and course_file["course_id"].strip():
        title = course_file.get("course_title")
        return course_file["course_id"].strip(), title if isinstance(title, str) else None
    seen: Counter[tuple[str, str | None]] = Counter()
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink():
            continue
        try:
            meta = notebook_course_metadata(read_notebook(path)).metadata
        except (NotebookReadError, OSError, ValueError):
            continue
        if meta.course_id:
            seen[(meta.course_id, meta.course_title)] += 1
    return seen.most_common(1)[0][0] if seen else None


_DRAFT_FIELDS = ("course_id", "course_title", "module_id", "module_title", "objectives", "quiz")
