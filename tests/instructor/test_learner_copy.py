"""``tutornb course learner-copy``: the notebooks learners get when the hub service holds solutions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutornb.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tutor_course"


def test_copies_lose_their_solutions_and_keep_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "learners"
    assert main(["course", "learner-copy", str(FIXTURE), str(out)]) == 0
    original = json.loads((FIXTURE / "text_and_arrays.ipynb").read_text(encoding="utf-8"))
    copied = json.loads((out / "text_and_arrays.ipynb").read_text(encoding="utf-8"))
    exercise = copied["metadata"]["tutornb"]["exercises"][0]
    assert "solution" not in exercise
    assert exercise["hints"] == original["metadata"]["tutornb"]["exercises"][0]["hints"]
    assert copied["cells"] == original["cells"]
    assert original["metadata"]["tutornb"]["exercises"][0]["solution"]  # the source is untouched


def test_a_copy_onto_itself_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "a.ipynb").write_bytes((FIXTURE / "text_and_arrays.ipynb").read_bytes())
    assert main(["course", "learner-copy", str(folder), str(folder)]) != 0
    assert "would replace the instructor's notebook" in capsys.readouterr().err
    assert "solution" in (folder / "a.ipynb").read_text(encoding="utf-8")
