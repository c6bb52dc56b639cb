"""IPython's own shell with ``%load_ext tutornb``, on a copy of the sample course and a temp store
(the harness's ``tests.support.kernel_shell``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kernel_shell import COURSE, NOTEBOOK, Shell, course_root, loaded_shell, reset_kernel_state

QUESTION = "How do I loop over a list and get the index of each item?"

__all__ = ["COURSE", "NOTEBOOK", "QUESTION", "Shell"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield course_root(tmp_path, monkeypatch)
    reset_kernel_state()


@pytest.fixture
def shell(root: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Shell]:
    with loaded_shell(capsys) as loaded:
        yield loaded
