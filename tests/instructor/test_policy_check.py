"""``tutornb course check --policy`` replays "just give me the answer" attempts against the real
course tutor and reports any reply that shows a withheld solution."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tutornb.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tutor_course"
NOTEBOOK = "text_and_arrays.ipynb"


def _course(tmp_path: Path, policy: dict[str, object], hints: list[str] | None = None) -> Path:
    folder = tmp_path / "course"
    shutil.copytree(FIXTURE, folder)
    path = folder / NOTEBOOK
    document = json.loads(path.read_text(encoding="utf-8"))
    meta = document["metadata"]["tutornb"]
    meta["policy"] = policy
    if hints is not None:
        meta["exercises"][0]["hints"] = hints
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return folder


def test_a_hints_only_exercise_keeps_its_solution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _course(tmp_path, {"solutions": "never"})
    code = main(["course", "check", "--policy", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "policy: replayed 4 attempts to get a withheld solution" in err
    assert "showed the solution" not in out


def test_a_hint_that_gives_the_solution_away_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a first hint that is the solution itself (an easy slip when writing hints)
    folder = _course(tmp_path, {"solutions": "never"}, hints=["squares = [x * x for x in range(4)]"])
    # When the policy is checked
    code = main(["course", "check", "--policy", str(folder)])
    out, _ = capsys.readouterr()
    # Then every attempt that got it is a problem line, named by exercise and attempt
    assert code == 1
    lines = [line for line in out.splitlines() if "showed the solution" in line]
    assert lines
    assert all("exercises.0.solution: the tutor showed the solution of 'squares'" in line for line in lines)
    assert any("(asking directly; policy never)" in line for line in lines)


def test_on_request_solutions_are_not_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _course(tmp_path, {"solutions": "on_request"})
    assert main(["course", "check", "--policy", str(folder)]) == 0
    assert "replayed 0 attempts" in capsys.readouterr().err
