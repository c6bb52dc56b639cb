"""The objectives' texts of a course folder (id to text), so the class page names them in words."""

from __future__ import annotations

from pathlib import Path

from tutornb.course.metadata import notebook_course_metadata
from tutornb.instructor.notebooks import NotebookReadError, read_notebook


def objective_texts(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    if not folder.is_dir() or folder.is_symlink():
        return texts
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink():
            continue
        try:
            metadata = notebook_course_metadata(read_notebook(path)).metadata
        except (NotebookReadError, OSError, ValueError):
            continue
        for objective in metadata.objectives:
            texts.setdefault(objective.id, objective.text)
    return texts
