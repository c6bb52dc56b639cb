"""The sample course folder is what learners open: it holds the course and nothing else, saved the way
a learner should first see it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.notebooks.nbval_setup import COURSE_ROOT, PER_RUN, _is_checked

NOTEBOOKS = sorted(COURSE_ROOT.glob("*.ipynb"))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def test_the_course_folder_holds_no_test_plumbing() -> None:
    # Given the folder `tutornb lab` serves to learners
    # Then it has notebooks (and course files), but no Python file such as nbval's conftest.py
    assert NOTEBOOKS
    assert sorted(path.name for path in COURSE_ROOT.rglob("*.py")) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_only_checked_cells_keep_outputs_and_none_shows_another_runs_session(notebook: Path) -> None:
    # Given a saved sample notebook
    document = json.loads(notebook.read_text(encoding="utf-8"))
    code_cells = [cell for cell in document["cells"] if cell["cell_type"] == "code"]
    # Then cells nbval does not check carry neither an output nor an execution count
    for cell in code_cells:
        if not _is_checked(cell):
            assert cell["outputs"] == [], _text(cell["source"])
            assert cell["execution_count"] is None, _text(cell["source"])
    # And no stored output holds what differs on every run (a session id, a clock time)
    for cell in code_cells:
        for output in cell["outputs"]:
            texts = [output.get("text", ""), *(output.get("data") or {}).values()]
            for text in map(_text, texts):
                for pattern in PER_RUN:
                    assert not re.search(pattern, text), text
    # And the course metadata is there for the tutor
    assert "tutornb" in document["metadata"]
