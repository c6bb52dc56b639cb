"""nbval runs the sample course's notebooks as a learner would: each kernel knows its notebook, none
touches the repo.

This lives here, not in ``notebooks/``, because that folder is what learners open in JupyterLab
(``tutornb lab`` serves it): test plumbing has no place in it. The repository's root ``conftest.py``
loads this module as a plugin, so its hooks apply to the notebooks wherever pytest is pointed
(``python -m pytest``, ``python -m pytest notebooks``).

jupyter-server tells a kernel which notebook it serves through ``JPY_SESSION_NAME``; nbval starts
kernels itself, so a hook sets that variable (and the course root) before each notebook's kernel
starts. Each notebook gets a fresh temporary store, never ``notebooks/.tutornb`` nor a store set in
the caller's environment, so a notebook's output is the same whether it runs alone or after the
others.

Checked cells are compared with their stored output (the test command runs nbval with
``--nbval-lax``): the ``%tutor`` demo cells carry nbval's ``# NBVAL_CHECK_OUTPUT`` first line, the
teaching examples carry the equivalent ``nbval-check-output`` cell tag instead, because the tutor
quotes those cells to learners as worked examples and test markup has no place there. ``SANITIZE``
blanks the parts of checked outputs that differ on every run by design (session ids, clock times)
or between Python versions.

Running this file as a script re-executes the notebooks exactly the same way and saves them the way
a learner should first see them: the checked cells keep their output, sanitized (no session id or
clock time of the run that made it), every other cell loses its output and execution count (widget
outputs carry random model ids and are of no use in a file)::

    python tests/notebooks/nbval_setup.py
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

COURSE_ROOT = Path(__file__).resolve().parents[2] / "notebooks"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
CHECK_TAG = "nbval-check-output"
_temp_dirs: list[Path] = []

#: regex -> replacement for what differs on every run by design. The refresh script stores checked
#: outputs with these already applied, so no learner sees another run's session id or clock time.
PER_RUN: dict[str, str] = {
    # ``%tutor history``: session ids are random and times are the clock's; same widths, so the
    # table's columns still line up.
    r"(?m)^[A-Za-z0-9][A-Za-z0-9_-]{15}(?=\s+(active|paused|closed)\s)": "<session-id>    ",
    r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b": "YYYY-MM-DD hh:mm",
}
#: regex -> replacement, applied by nbval to both the stored and the fresh output of checked cells.
#: Beyond ``PER_RUN``: wording that differs between Python versions (stored as this run printed
#: it, since it is a teaching example).
SANITIZE: dict[str, str] = {
    **PER_RUN,
    # Python 3.10 and 3.11+ word this error differently.
    r"UnboundLocalError: .*": "UnboundLocalError: <message>",
}


def _temp_dir(prefix: str) -> str:
    """A new temporary folder, removed when pytest (or the refresh script) ends."""
    path = tempfile.mkdtemp(prefix=f"tutornb-nbval-{prefix}")
    _temp_dirs.append(Path(path))
    return path


def _remove_temp_dirs() -> None:
    while _temp_dirs:
        shutil.rmtree(_temp_dirs.pop(), ignore_errors=True)


@contextmanager
def kernel_environment(notebook: Path) -> Iterator[None]:
    """What jupyter-server would tell this notebook's kernel, with a store of its own.

    Set only while the kernel starts (it keeps its own copy of the environment) and restored
    afterwards, so the tests that run in this process after the notebooks see none of it.
    """
    wanted = {
        "TUTORNB_ROOT_DIR": str(COURSE_ROOT),
        "JPY_SESSION_NAME": str(notebook),
        "TUTORNB_STORE_DIR": _temp_dir(f"{notebook.stem}-store-"),
        # Never the developer's IPython profile: its startup files could change the outputs.
        "IPYTHONDIR": os.environ.get("IPYTHONDIR") or _temp_dir("ipython-"),
    }
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # The first cell's setup is where nbval's collector starts the notebook's kernel.
    notebook = item.parent
    if notebook is None or notebook.path.suffix != ".ipynb":
        return (yield)
    patterns = getattr(notebook, "sanitize_patterns", None)
    if isinstance(patterns, dict):
        patterns.update(SANITIZE)
    if getattr(notebook, "kernel", None) is not None:
        return (yield)  # started already, with its environment
    with kernel_environment(notebook.path):
        return (yield)


def pytest_unconfigure(config: pytest.Config) -> None:
    _remove_temp_dirs()


# --------------------------------------------------------------------------------------------------
# Refreshing the stored outputs (``python tests/notebooks/nbval_setup.py``)


def _is_checked(cell: dict[str, Any]) -> bool:
    """nbval's two markers: the comment on the first line, or the cell tag."""
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and (text.lstrip().startswith(CHECK_MARKER) or CHECK_TAG in tags)


def _execute(notebook: Path, document: dict[str, Any]) -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient

    node: Any = nbformat.from_dict(copy.deepcopy(document))  # type: ignore[no-untyped-call]
    client = NotebookClient(
        node, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(COURSE_ROOT)}}
    )
    with kernel_environment(notebook):
        client.execute()
    executed: dict[str, Any] = json.loads(json.dumps(node))  # plain dicts again
    return executed


def _plain_outputs(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outputs as they are stored: multi-line text as one string, like the sources."""
    stored = []
    for output in outputs:
        output = dict(output)
        if isinstance(output.get("text"), list):
            output["text"] = "".join(output["text"])
        data = output.get("data")
        if isinstance(data, dict):
            output["data"] = {
                key: "".join(value) if isinstance(value, list) else value for key, value in data.items()
            }
        stored.append(output)
    return stored


def _sanitized(value: Any, patterns: dict[str, str]) -> Any:
    """``value`` with ``patterns`` applied to every string in it."""
    if isinstance(value, str):
        for pattern, replacement in patterns.items():
            value = re.sub(pattern, replacement, value)
        return value
    if isinstance(value, dict):
        return {key: _sanitized(item, patterns) for key, item in value.items()}
    if isinstance(value, list):
        return [_sanitized(item, patterns) for item in value]
    return value


def refresh(notebook: Path) -> bool:
    """Re-runs ``notebook`` and saves it clean; True when the file changed."""
    raw = notebook.read_text(encoding="utf-8")
    document = json.loads(raw)
    executed = _execute(notebook, document)
    for cell, ran in zip(document["cells"], executed["cells"], strict=True):
        if cell.get("cell_type") != "code":
            continue
        if _is_checked(cell):
            # nbval sanitizes both sides, so placeholders stored for the per-run parts still match,
            # and a learner opening the notebook never sees another run's session id or clock time.
            # The count stays: nbval refuses a stored output without one ("unrun reference cell").
            cell["outputs"] = _sanitized(_plain_outputs(ran.get("outputs", [])), PER_RUN)
            cell["execution_count"] = ran.get("execution_count")
        else:
            cell["outputs"] = []
            cell["execution_count"] = None
    fresh = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if fresh == raw:
        return False
    notebook.write_text(fresh, encoding="utf-8")
    return True


def main() -> int:
    notebooks = sorted(COURSE_ROOT.glob("*.ipynb"))
    try:
        changed = [notebook.name for notebook in notebooks if refresh(notebook)]
    finally:
        _remove_temp_dirs()
    print(f"updated: {', '.join(changed)}" if changed else "stored outputs are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
