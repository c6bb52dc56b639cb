"""``tutornb course init``: a draft for notebooks without metadata, never touching the others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.instructor.conftest import load, save
from tutornb.cli import main

LISTS = "01_lists_and_loops.ipynb"


def test_init_drafts_only_where_missing(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the course with one notebook stripped of its metadata, and another left as shipped
    stripped = load(course / LISTS)
    del stripped["metadata"]["tutornb"]
    save(course / LISTS, stripped)
    os.chmod(course / LISTS, 0o640)
    untouched = (course / "02_dictionaries.ipynb").read_bytes()
    # When the instructor drafts metadata for the folder
    code = main(["course", "init", str(course), "--course-id", "py101", "--course-title", "Python 101"])
    out = capsys.readouterr().out
    # Then only the stripped notebook gets a draft, with the module and objectives from its headings
    assert code == 0
    assert f"{LISTS}: added a draft metadata.tutornb" in out
    # (keeping the course id the folder's other notebooks already share, not a second one)
    assert f"{LISTS}: this folder's course is 'python-foundations'; a draft keeps it (not 'py101')" in out
    assert "02_dictionaries.ipynb: already has metadata.tutornb; left unchanged" in out
    assert (course / "02_dictionaries.ipynb").read_bytes() == untouched
    draft = load(course / LISTS)["metadata"]["tutornb"]
    assert draft["course_id"] == "python-foundations"
    folder_title = load(course / "02_dictionaries.ipynb")["metadata"]["tutornb"]["course_title"]
    assert draft["course_title"] == folder_title
    assert draft["module_title"] == "Lists & loops"
    assert draft["module_id"] == "lists-loops"
    assert draft["objectives"], draft
    assert all(o["id"] and o["text"] for o in draft["objectives"])
    assert draft["quiz"] == []
    # the rest of the notebook is as it was, and its mode is kept
    after = load(course / LISTS)
    assert after["cells"] == stripped["cells"]
    assert (course / LISTS).stat().st_mode & 0o777 == 0o640
    assert not [p for p in course.iterdir() if p.name.endswith(".tmp")]
    # And the whole folder passes the checker (with warnings: no quiz): still one course
    code = main(["course", "check", str(course)])
    assert code == 0
    assert "quiz: no quiz questions" in capsys.readouterr().err


def test_init_is_idempotent_and_reports_unreadable(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (course / "broken.ipynb").write_text("not json")
    code = main(["course", "init", str(course), "--course-id", "c", "--course-title", "C"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == f"tutornb: {course / 'broken.ipynb'}: notebook: not valid JSON"
    assert (course / "broken.ipynb").read_text() == "not json"
