"""The kernel finds its notebook and reads the notebook's course metadata (real notebook files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from tutornb.kernel import context
from tutornb.kernel.context import (
    NO_METADATA_NOTE,
    NO_NOTEBOOK_NOTE,
    current_context,
    find_notebook,
    read_context,
)

COURSE = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A server root holding a copy of the course, the way jupyter-server's kernels see it."""
    root = tmp_path / "root"
    (root / "course").mkdir(parents=True)
    shutil.copy(COURSE / "01_lists_and_loops.ipynb", root / "course" / "01_lists_and_loops.ipynb")
    plain = nbformat.v4.new_notebook()
    plain.cells.append(nbformat.v4.new_markdown_cell("# No course here"))
    nbformat.write(plain, str(root / "scratch.ipynb"))
    monkeypatch.setenv("TUTORNB_ROOT_DIR", str(root))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(root / "course")
    return root


def test_course_metadata_is_read_into_the_course_context(root: Path) -> None:
    # Given the sample course's lists-and-loops notebook inside the server root
    notebook = root / "course" / "01_lists_and_loops.ipynb"
    raw = nbformat.read(str(notebook), as_version=4).metadata["tutornb"]

    # When the kernel reads its context
    found = read_context(notebook, root)

    # Then ids and titles come from metadata.tutornb and the path is relative to the root
    assert found.has_metadata
    assert found.note == ""
    assert found.course.course_id == raw["course_id"]
    assert found.course.module_title == raw["module_title"]
    assert found.course.notebook_path == "course/01_lists_and_loops.ipynb"
    assert len(found.objectives) == len(raw["objectives"]) > 0
    assert [q.id for q in found.quiz] == [q["id"] for q in raw["quiz"]]
    synced = found.as_dict()
    assert synced["module_id"] == raw["module_id"]
    assert synced["quiz_questions"] == len(raw["quiz"])


def test_jpy_session_name_points_the_kernel_at_its_notebook(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given jupyter-server's variable naming the notebook by absolute path
    notebook = root / "course" / "01_lists_and_loops.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))

    # When the kernel looks for its notebook
    found = current_context()

    # Then it is that notebook, with its course context
    assert find_notebook() == notebook.resolve()
    assert found.notebook_file == notebook.resolve()
    assert found.course.notebook_path == "course/01_lists_and_loops.ipynb"
    assert found.course.course_id


def test_an_explicit_path_wins_and_may_be_relative_to_the_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a kernel whose variable names another notebook
    monkeypatch.setenv("JPY_SESSION_NAME", str(root / "course" / "01_lists_and_loops.ipynb"))

    # When the caller names a notebook relative to the server root
    found = current_context("scratch.ipynb")

    # Then that notebook is used
    assert found.course.notebook_path == "scratch.ipynb"


def test_a_notebook_without_metadata_gets_a_general_context_and_a_note(root: Path) -> None:
    # Given a notebook with no metadata.tutornb
    notebook = root / "scratch.ipynb"

    # When its context is read
    found = read_context(notebook, root)

    # Then the context is general but still tied to the notebook, and the note says why
    assert not found.has_metadata
    assert found.note == NO_METADATA_NOTE
    assert found.course.course_id is None
    assert found.course.notebook_path == "scratch.ipynb"
    assert found.as_dict()["note"] == NO_METADATA_NOTE


def test_a_broken_notebook_file_is_a_note_not_an_exception(root: Path) -> None:
    # Given a file that is not a notebook
    broken = root / "broken.ipynb"
    broken.write_text("{not json", encoding="utf-8")

    # When its context is read
    found = read_context(broken, root)

    # Then the tutor still gets a general context and the learner a readable note
    assert not found.has_metadata
    assert "broken.ipynb" in found.note
    assert found.course.notebook_path == "broken.ipynb"


def test_without_any_hint_the_context_is_general(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no JPY_SESSION_NAME, a stale one, and no jupyter-server that knows this process
    monkeypatch.setenv("JPY_SESSION_NAME", str(root / "renamed-away.ipynb"))
    assert context._kernel_id() is None  # this test process is not a kernel

    # When the kernel looks for its notebook
    found = current_context()

    # Then nothing is guessed: a general context with the explanation
    assert find_notebook() is None
    assert found.course.notebook_path is None
    assert found.note == NO_NOTEBOOK_NOTE
