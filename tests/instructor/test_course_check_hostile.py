"""``tutornb course check`` / ``course init`` on notebooks built to break the checker: each broken
notebook is its own line(s), and every other notebook of the course is still checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.instructor.conftest import load
from tutornb.cli import main

LISTS = "01_lists_and_loops.ipynb"


def _metadata_list(document: dict[str, Any]) -> str:
    document["metadata"] = ["not", "a", "mapping"]
    return json.dumps(document)


def _source_numbers(document: dict[str, Any]) -> str:
    document["cells"][0]["source"] = [1, 2]
    return json.dumps(document)


def _superscript_key(document: dict[str, Any]) -> str:
    document["metadata"]["tutornb"]["quiz"][0]["misconceptions"] = {"²": "a digit that int() rejects"}
    return json.dumps(document)


def _lone_surrogate(document: dict[str, Any]) -> str:
    document["metadata"]["tutornb"]["objectives"][0]["id"] = "SURROGATE"
    return json.dumps(document).replace("SURROGATE", "\\ud800")


def _deep(document: dict[str, Any]) -> str:
    return json.dumps(document)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _cells_mapping(document: dict[str, Any]) -> str:
    document["cells"] = [{"cell_type": ["markdown"], "source": {"x": 1}}, 7, None]
    return json.dumps(document)


HOSTILE: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("metadata-list", _metadata_list),
    ("source-numbers", _source_numbers),
    ("superscript-key", _superscript_key),
    ("lone-surrogate", _lone_surrogate),
    ("deep-nesting", _deep),
    ("odd-cells", _cells_mapping),
]


@pytest.mark.parametrize(("name", "spoil"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_one_bad_notebook_does_not_stop_the_check(
    course: Path, capsys: pytest.CaptureFixture[str], name: str, spoil: Callable[[dict[str, Any]], str]
) -> None:
    # Given a course where one notebook is hostile and another has a real problem
    (course / LISTS).write_text(spoil(load(course / LISTS)), encoding="utf-8")
    dicts = next(p for p in sorted(course.glob("*.ipynb")) if p.name != LISTS)
    document = load(dicts)
    document["metadata"]["tutornb"]["quiz"][0]["answer"] = 9
    dicts.write_text(json.dumps(document), encoding="utf-8")
    # When the instructor checks the course
    code = main(["course", "check", str(course)])
    out, err = capsys.readouterr()
    # Then the run completes: the hostile notebook is named on its own lines, the other's problem
    # is found too, and the summary counts every notebook
    assert code == 1
    assert "unexpected" not in err
    lines = out.splitlines()
    assert any(line.startswith(str(course / LISTS)) or LISTS in line.split(":")[0] for line in lines), lines
    assert any(dicts.name in line and "quiz.0.answer: 9 is out of range" in line for line in lines), lines
    assert "4 notebooks checked" in err
    assert "\ud800" not in out


@pytest.mark.parametrize(("name", "spoil"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_one_bad_notebook_does_not_stop_init(
    course: Path, capsys: pytest.CaptureFixture[str], name: str, spoil: Callable[[dict[str, Any]], str]
) -> None:
    # Given a course where one notebook is hostile and one has no metadata yet
    (course / LISTS).write_text(spoil(load(course / LISTS)), encoding="utf-8")
    bare = next(p for p in sorted(course.glob("*.ipynb")) if p.name != LISTS)
    document = load(bare)
    del document["metadata"]["tutornb"]
    bare.write_text(json.dumps(document), encoding="utf-8")
    # When the instructor drafts metadata
    main(["course", "init", str(course), "--course-id", "py101", "--course-title", "Python"])
    out, err = capsys.readouterr()
    # Then the notebook without metadata gets its draft whatever the hostile one holds
    assert "unexpected" not in err
    assert f"{bare}: added a draft metadata.tutornb" in out
