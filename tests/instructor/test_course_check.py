"""``tutornb course check`` on the sample course: valid as shipped, and one clear line per broken
rule (``notebook: field: problem``, exit 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.instructor.conftest import edit_meta, load, save
from tutornb.cli import main
from tutornb.course.policy import COURSE_FILE
from tutornb.course.schema import SCHEMA_FILE, published_schema, render_schema

LISTS = "01_lists_and_loops.ipynb"


def _check(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[str], str]:
    code = main(["course", "check", *map(str, paths)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_published_schema_is_the_generated_one() -> None:
    # The committed file is what editors validate against: it must equal the models' schema.
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_schema()


def test_sample_course_is_valid_against_the_published_schema(course: Path) -> None:
    for notebook in sorted(course.glob("*.ipynb")):
        jsonschema.validate(load(notebook)["metadata"]["tutornb"], published_schema())


def test_sample_course_passes(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = _check(capsys, course)
    assert code == 0, lines
    assert lines == []
    assert "4 notebooks checked: 0 problems" in err


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        meta[key] = value

    return change


def _quiz(position: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        meta["quiz"][position][key] = value

    return change


def _duplicate(key: str) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        meta[key][1]["id"] = meta[key][0]["id"]

    return change


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("schema", _quiz(0, "choices", ["only one"]), "quiz.0.choices: List should have at least 2 items"),
    ("unknown-field", _set("objectivs", []), "objectivs: unknown field"),
    ("answer-range", _quiz(0, "answer", 7), "quiz.0.answer: 7 is out of range (choices 0-3)"),
    (
        "misconception-on-answer",
        _quiz(0, "misconceptions", {"1": "the right one"}),
        "quiz.0.misconceptions.1: keyed to the right answer; misconceptions belong to wrong choices",
    ),
    (
        "misconception-no-choice",
        _quiz(0, "misconceptions", {"9": "x"}),
        "quiz.0.misconceptions.9: there is no choice 9 (choices 0-3)",
    ),
    (
        "misconception-key",
        _quiz(0, "misconceptions", {"b": "x"}),
        "quiz.0.misconceptions.b: the key must be a choice index",
    ),
    (
        "objective-missing",
        _quiz(0, "objective", "slicing"),
        "quiz.0.objective: 'slicing' is not an objective of this notebook",
    ),
    (
        "duplicate-objective",
        _duplicate("objectives"),
        "objectives.1.id: duplicate id 'indexing' (also objectives.0)",
    ),
    ("duplicate-question", _duplicate("quiz"), "quiz.1.id: duplicate id 'lists-q1' (also quiz.0)"),
    (
        "exercise-heading",
        _set("exercises", [{"id": "ex1", "heading": "A heading nobody wrote"}]),
        "exercises.0.heading: no Markdown heading 'A heading nobody wrote' in the notebook",
    ),
    (
        "duplicate-exercise",
        _set(
            "exercises", [{"id": "ex", "heading": "Lists & loops"}, {"id": "ex", "heading": "Lists & loops"}]
        ),
        "exercises.1.id: duplicate id 'ex' (also exercises.0)",
    ),
    ("policy", _set("policy", {"solutions": "always"}), "policy.solutions: Input should be"),
    (
        "policy-tutor",
        _set("policy", {"tutor": "gpt-tutor"}),
        "policy.tutor: no tutor is registered as 'gpt-tutor' (known: course, openai)",
    ),
    (
        "course-id",
        _set("course_id", "another-course"),
        "course_id: 'another-course' differs from 'python-foundations'",
    ),
    ("module-id", _set("module_id", "dictionaries"), "module_id: duplicate module 'dictionaries'"),
]


@pytest.mark.parametrize(("change", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_broken_rule_is_one_line(
    course: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    # Given the sample course with one rule broken in the lists notebook
    edit_meta(course / LISTS, change)
    # When the instructor checks the folder
    code, lines, _ = _check(capsys, course)
    # Then it fails with exactly the line naming the notebook, the field and the problem
    assert code == 1
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("course/") and ".ipynb: " in line for line in lines)
    assert all(line.count(": ") >= 2 for line in lines)


def test_exercise_heading_that_exists_is_accepted(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    heading = next(
        line.lstrip("#").strip()
        for cell in load(course / LISTS)["cells"]
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("## ")
    )
    edit_meta(course / LISTS, _set("exercises", [{"id": "ex1", "heading": heading, "graded": True}]))
    code, lines, _ = _check(capsys, course / LISTS)
    assert (code, lines) == (0, [])


def test_course_file_rules(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A course file naming another course id makes every notebook disagree with it
    (course / COURSE_FILE).write_text(json.dumps({"course_id": "other", "policy": {"hints": False}}))
    code, lines, _ = _check(capsys, course)
    assert code == 1
    assert sum("course_id: 'python-foundations' differs from 'other'" in line for line in lines) == 4
    # An invalid policy in the course file is reported against the file
    (course / COURSE_FILE).write_text(json.dumps({"policy": {"attempts": 0}}))
    code, lines, _ = _check(capsys, course)
    assert code == 1
    assert lines == [f"course/{COURSE_FILE}: policy.attempts: Input should be greater than or equal to 1"]
    # Truncated JSON is a one-line problem too
    (course / COURSE_FILE).write_text('{"policy": {')
    code, lines, _ = _check(capsys, course)
    assert lines == [f"course/{COURSE_FILE}: file: is not valid JSON (JSONDecodeError)"]


def test_warnings_do_not_fail(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_meta(course / LISTS, _set("quiz", []))
    edit_meta(course / LISTS, _set("objectives", []))
    code, lines, err = _check(capsys, course)
    assert (code, lines) == (0, [])
    assert "warning: course/01_lists_and_loops.ipynb: quiz: no quiz questions" in err
    assert "warning: course/01_lists_and_loops.ipynb: objectives: no objectives" in err


def test_unreadable_notebook_and_missing_path(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (course / "broken.ipynb").write_text('{"cells": [')
    code, lines, _ = _check(capsys, course)
    assert code == 1
    assert lines == ["course/broken.ipynb: notebook: not valid JSON"]
    code, lines, err = _check(capsys, course / "nope.ipynb")
    assert code == 1
    assert "no such file or folder" in err
    assert "Traceback" not in err


@pytest.fixture(autouse=True)
def _in_tmp(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths are shown relative to the working folder, as an instructor typed them.
    monkeypatch.chdir(course.parent)


def test_no_metadata_is_a_warning(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = load(course / LISTS)
    del document["metadata"]["tutornb"]
    save(course / LISTS, document)
    code, _, err = _check(capsys, course / LISTS)
    assert code == 0
    assert "tutornb: no course metadata" in err
