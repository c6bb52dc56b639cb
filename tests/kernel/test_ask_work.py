"""``%tutor ask`` in IPython's own shell: rich display, the learner's last run attached, and citations
that read the same in the magic's output and in an export.

Cells are run with ``run_cell`` (IPython's ``post_run_cell`` event fires exactly as in a kernel) on a
copy of the sample course whose notebook carries nbformat 4.5 cell ids, like a JupyterLab notebook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.utils.capture import capture_output

from tutornb.citations import format_citation
from tutornb.models import Citation

from .conftest import NOTEBOOK, QUESTION, Shell

FAILING = 'word = "Jupyter"\nletters = list(word)\nword[0] = "j"\n'


@pytest.fixture
def cell_ids(root: Path) -> list[str]:
    """Gives the course notebook cell ids (nbformat 4.5), as JupyterLab saves it."""
    path = root / NOTEBOOK
    notebook = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    notebook.nbformat_minor = 5
    ids = [f"cell-{i:03d}" for i in range(len(notebook.cells))]
    for cell, cell_id in zip(notebook.cells, ids, strict=True):
        cell["id"] = cell_id
    nbformat.write(notebook, str(path))  # type: ignore[no-untyped-call]
    return ids


def _run(shell: Shell, code: str, cell_id: str | None = None) -> None:
    """Runs a learner's cell (its traceback, if any, is printed like in a notebook and dropped)."""
    shell.ip.run_cell(code, store_history=True, cell_id=cell_id)
    shell.capsys.readouterr()


def _exported(shell: Shell, tmp_path: Path, fmt: str, name: str) -> str:
    _out, err, _ = shell.run(f"export --format {fmt} {name}")
    assert err == "", err
    return (tmp_path / name).read_text(encoding="utf-8")


def test_ask_shows_rendered_markdown_with_a_plain_text_version(shell: Shell) -> None:
    # When the learner asks a question
    plain, markdown, err = shell.ask(QUESTION)

    # Then one rich display carries Markdown for the notebook and plain text for nbval/terminals
    assert err == ""
    assert "enumerate" in markdown
    assert "*Sources: 01_lists_and_loops.ipynb · cell " in markdown  # sources set apart (italic)
    assert plain.splitlines()[-1].startswith("Sources: 01_lists_and_loops.ipynb · cell ")
    assert "*Sources" not in plain


def test_a_citation_reads_the_same_in_the_magic_and_in_every_export(shell: Shell, tmp_path: Path) -> None:
    # Given an answer with sources
    plain, markdown, _ = shell.ask(QUESTION)
    shown = plain.splitlines()[-1].removeprefix("Sources: ").split("; ")

    # When the session is exported as JSON and as Markdown
    document = json.loads(_exported(shell, tmp_path, "json", "s.json"))
    export_md = _exported(shell, tmp_path, "markdown", "s.md")

    # Then each stored citation (0-based cell_index) is shown counted from 1, identically everywhere
    stored = [Citation.model_validate(c) for c in document["messages"][1]["citations"]]
    assert stored
    assert shown == [format_citation(c) for c in stored]
    for citation, text in zip(stored, shown, strict=True):
        assert f"cell {citation.cell_index + 1}" in text
        assert f"- {text}" in export_md.splitlines()
        assert text in markdown


def test_ask_attaches_the_last_failing_run_with_its_cell_and_error(
    shell: Shell, cell_ids: list[str], tmp_path: Path
) -> None:
    # Given the learner ran the notebook's cell 6 (index 5) and it failed
    _run(shell, FAILING, cell_id=cell_ids[5])

    # When they ask about it
    plain, markdown, err = shell.ask("what should I do?")

    # Then the question went with their code, the cell and the error on their own line
    assert err == ""
    assert plain.endswith("Asked with your last run (cell 6, and its error).")
    assert "*Asked with your last run (cell 6, and its error).*" in markdown
    document = json.loads(_exported(shell, tmp_path, "json", "w.json"))
    work: dict[str, Any] = document["messages"][0]["work"]
    assert work["cell_index"] == 5
    assert work["code"] == FAILING
    lines = work["error"].splitlines()
    assert lines[0].startswith("Cell In[")
    assert lines[0].endswith("], line 3")
    assert lines[1] == '    word[0] = "j"'
    assert lines[2] == "TypeError: 'str' object does not support item assignment"
    assert "\x1b[" not in work["error"]
    # And the Markdown export shows the code and the error
    export_md = _exported(shell, tmp_path, "markdown", "w.md")
    assert "**Attached work** (cell 6):" in export_md
    assert f"```python\n{FAILING}```" in export_md


def test_ask_attaches_work_when_it_failed_or_is_asked_about_and_obeys_the_flags(
    shell: Shell, tmp_path: Path
) -> None:
    def attached() -> list[dict[str, Any] | None]:
        document = json.loads(_exported(shell, tmp_path, "json", "a.json"))
        return [m.get("work") for m in document["messages"] if m["role"] == "learner"]

    # Given a cell that ran fine (not in the saved notebook: no cell id, so no index)
    _run(shell, "total = sum([1, 2, 3])\n")
    # When the learner asks a general question, then one about their own code
    shell.ask("What is a list?")
    shell.ask("Is my code right?")
    # And after a failing cell: a question, one with --no-work, and --work
    _run(shell, "print(totl)\n")
    shell.ask("What does this mean?")
    shell.ask("--no-work What does enumerate do?")
    _run(shell, "x = 1\n")
    shell.ask("--work How do loops work?")

    # Then only the run the question is about went with it
    works = attached()
    assert works[0] is None
    assert works[1] == {"code": "total = sum([1, 2, 3])\n"}
    assert works[2] is not None
    assert works[2]["error"].endswith("NameError: name 'totl' is not defined")
    assert works[2]["error"].splitlines()[1] == "    print(totl)"
    assert works[3] is None
    assert works[4] == {"code": "x = 1\n"}


def test_tutor_cells_and_syntax_errors(shell: Shell) -> None:
    from tutornb.kernel.lastrun import work_tracker

    # Given a failing cell, then cells that only drive the tutor
    _run(shell, "for x in [1, 2]\n    print(x)\n")
    before = work_tracker().last
    _run(shell, "%tutor status\n")
    _run(shell, "# ask the tutor\nimport tutornb\npanel = tutornb.chat()\n")

    # Then the learner's last work is still the failing cell, with the syntax error's line
    assert work_tracker().last == before
    assert before is not None
    assert before.error is not None
    lines = before.error.splitlines()
    assert lines[0].endswith("line 1")
    assert lines[1] == "    for x in [1, 2]"
    assert lines[2].startswith("SyntaxError: ")

    # And --work without any run is a clear one-line usage error in a fresh kernel state
    from tutornb.kernel.lastrun import reset_work_tracker

    reset_work_tracker()
    _, err, _ = shell.run("ask --work Why?")
    assert err.startswith("tutornb: --work: no cell has run")


def test_a_question_ending_in_a_question_mark_reaches_the_tutor(shell: Shell) -> None:
    # When the learner runs a cell whose question ends with "?" (IPython's help syntax)
    with capture_output(stdout=False, stderr=False) as displayed:
        result = shell.ip.run_cell("%tutor ask How do I loop over a list?\n", store_history=True)
    out, err = shell.capsys.readouterr()

    # Then the tutor answers it, instead of IPython showing the help of "list"
    assert result.success
    assert err == ""
    assert "Object `list` not found" not in out
    assert len(displayed.outputs) == 1
    assert "Sources: 01_lists_and_loops.ipynb" in displayed.outputs[0].data["text/plain"]
