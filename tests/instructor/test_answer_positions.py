"""``tutornb course check`` warns when the right answer sits at the same position in most questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.instructor.conftest import load, save
from tutornb.cli import main


def test_the_sample_course_is_warned_about_its_answer_position(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["course", "check", str(course)])
    err = capsys.readouterr().err
    # a warning, not a problem: the course is still valid
    assert code == 0
    assert "quiz: the right answer is choice B in 18 of 20 questions" in err


def test_spread_answers_get_no_warning(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given every quiz rotated so the right answers take turns over the positions
    turn = 0
    for path in sorted(course.glob("*.ipynb")):
        notebook = load(path)
        for question in notebook["metadata"]["tutornb"].get("quiz", []):
            choices, answer = question["choices"], question["answer"]
            shift = (answer - turn) % len(choices)
            question["choices"] = choices[shift:] + choices[:shift]
            question["answer"] = (answer - shift) % len(choices)
            question["misconceptions"] = {
                str((int(k) - shift) % len(choices)): v for k, v in question.get("misconceptions", {}).items()
            }
            assert question["choices"][question["answer"]] == choices[answer]
            turn += 1
        save(path, notebook)
    # When the course is checked
    code = main(["course", "check", str(course)])
    err = capsys.readouterr().err
    # Then it is valid and nothing is said about answer positions
    assert code == 0, err
    assert "right answer is choice" not in err
