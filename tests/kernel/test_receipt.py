"""``%tutor receipt``: the learner sees their AI-use receipt (hints, solution shown, tutor code in
their cells, per exercise), and only ``--confirm`` adds exactly that to the notebook's metadata."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.support.kernel_shell import Shell
from tutornb.kernel.receipt import RECEIPT_KEY
from tutornb.kernel.runtime import reset_kernel_runtime

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tutor_course"
NOTEBOOK = "text_and_arrays.ipynb"
SOLUTION = "squares = [x * x for x in range(4)]"


@pytest.fixture
def shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Shell]:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root)
    monkeypatch.setenv("TUTORNB_ROOT_DIR", str(root))
    monkeypatch.setenv("TUTORNB_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(root / NOTEBOOK))
    monkeypatch.setenv("JUPYTERHUB_USER", "ann")
    monkeypatch.chdir(tmp_path)
    reset_kernel_runtime()
    ip = InteractiveShell.instance()
    yield Shell(ip, capsys)
    ip.magics_manager.magics["line"].pop("tutor", None)
    ip.extension_manager.loaded.discard("tutornb")
    reset_kernel_runtime()


def _insert_below_exercise(path: Path, code: str) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    index = next(i for i, c in enumerate(document["cells"]) if "Exercise 1: squares" in "".join(c["source"]))
    cell = {"id": "from-tutor", "cell_type": "code", "metadata": {}, "source": code, "outputs": []}
    document["cells"].insert(index + 1, {**cell, "execution_count": None})
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def test_the_receipt_is_shown_first_then_added_to_the_metadata(shell: Shell, tmp_path: Path) -> None:
    notebook = tmp_path / "root" / NOTEBOOK
    # Given ann asked for two hints, then the solution (shown after two attempts), and put it in a cell
    for text in ("I need a hint for exercise 1", "another hint please", "show me the solution"):
        out, err, shown = shell.run(f"ask {text}")
        assert err == "", err
    assert SOLUTION in out + "".join(str(bundle.get("text/plain", "")) for bundle in shown)
    _insert_below_exercise(notebook, f"# from the tutor\n{SOLUTION}\nprint(squares)")
    before = notebook.read_bytes()
    # When she asks for her receipt
    out, err, _ = shell.run("receipt")
    # Then she sees it, per exercise, and nothing is written yet
    assert err == ""
    assert "- Exercise 1: squares: 2 hint(s); solution SHOWN; 1 code cell(s) with code from the tutor" in out
    assert "Nothing is added yet" in out
    assert notebook.read_bytes() == before
    # When she confirms
    out, err, _ = shell.run("receipt --confirm")
    assert err == ""
    assert f"Added the AI-use receipt to {NOTEBOOK}'s metadata" in out
    # Then the notebook (still valid nbformat, as nbgrader reads it) carries exactly that receipt
    document = nbformat.read(notebook, as_version=4)
    nbformat.validate(document)
    receipt = document.metadata[RECEIPT_KEY]
    assert receipt["learner"] == "ann"
    assert receipt["exercises"] == [
        {"exercise": "Exercise 1: squares", "hints": 2, "solution_shown": True, "cells_with_tutor_code": 1}
    ]
    # and everything else of the notebook is as it was
    earlier = nbformat.reads(before, as_version=4)
    assert [c.source for c in document.cells] == [c.source for c in earlier.cells]


def test_a_confirm_without_a_look_shows_the_receipt_instead(shell: Shell, tmp_path: Path) -> None:
    notebook = tmp_path / "root" / NOTEBOOK
    before = notebook.read_bytes()
    out, _, _ = shell.run("receipt --confirm")
    assert "This differs from the receipt you saw last (or you saw none)." in out
    assert "- Exercise 1: squares: 0 hint(s); solution not shown; 0 code cell(s)" in out
    assert notebook.read_bytes() == before
