"""IPython's own shell with ``%load_ext tutornb`` on a copy of the sample course and a temp store:
the kernel side as the magics and ``%tutor share`` tests drive it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from tutornb.kernel.lastrun import reset_work_tracker
from tutornb.kernel.magics import TutorMagic
from tutornb.kernel.runtime import reset_kernel_runtime

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = "01_lists_and_loops.ipynb"


class Shell:
    """IPython's shell with ``%load_ext tutornb`` done, and the output of each magic line."""

    def __init__(self, ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
        self.ip = ip
        self.capsys = capsys
        ip.run_line_magic("load_ext", "tutornb")
        magic = ip.magics_manager.magics["line"]["tutor"]
        assert isinstance(magic, TutorMagic)
        self.magic = magic
        capsys.readouterr()

    def run(self, line: str) -> tuple[str, str, list[dict[str, Any]]]:
        """(stdout, stderr, displayed mimebundles) of ``%tutor <line>``."""
        with capture_output(stdout=False, stderr=False) as displayed:
            self.ip.run_line_magic("tutor", line)
        out, err = self.capsys.readouterr()
        return out, err, [o.data for o in displayed.outputs]

    def ask(self, line: str) -> tuple[str, str, str]:
        """(plain text, Markdown, stderr) of ``%tutor ask <line>``: one rich display, nothing
        printed."""
        out, err, shown = self.run(f"ask {line}")
        assert out == ""
        if err:
            return "", "", err
        assert len(shown) == 1, shown
        return shown[0]["text/plain"], shown[0]["text/markdown"], err


def course_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample course under ``tmp_path`` that the kernel runs in (as the server would
    tell it: root, store, notebook), with a fresh kernel runtime and last-run tracker."""
    root = tmp_path / "root"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints"))
    monkeypatch.setenv("TUTORNB_ROOT_DIR", str(root))
    monkeypatch.setenv("TUTORNB_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(root / NOTEBOOK))
    monkeypatch.chdir(tmp_path)
    reset_kernel_runtime()
    reset_work_tracker()
    return root


def reset_kernel_state() -> None:
    reset_kernel_runtime()
    reset_work_tracker()


@contextmanager
def loaded_shell(capsys: pytest.CaptureFixture[str]) -> Iterator[Shell]:
    """IPython's shell with the extension loaded; unloaded again on the way out."""
    ip = InteractiveShell.instance()
    try:
        yield Shell(ip, capsys)
    finally:
        ip.magics_manager.magics["line"].pop("tutor", None)
        ip.extension_manager.loaded.discard("tutornb")
