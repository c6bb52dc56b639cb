"""``tutornb class-report`` over an exchange folder of real reports (from real tutor sessions) and
broken ones: a newer schema, a truncated file, the wrong shape — one line each, the rest counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.instructor.conftest import SCRIPT_QUESTION, shared_file
from tutornb.cli import main


def test_class_report_from_shared_reports(
    exchange: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = shared_file(exchange, "ann")
    # Given two real reports, and three files that are not readable reports
    newer = json.loads(good.read_text())
    newer.update(schema_version=99, learner="cy")
    (exchange / "python-foundations--cy.json").write_text(json.dumps(newer))
    (exchange / "python-foundations--dee.json").write_bytes(good.read_bytes()[:300])
    wrong = json.loads(good.read_text())
    wrong["modules"][0]["phase"] = "sleeping"
    (exchange / "python-foundations--eve.json").write_text(json.dumps(wrong))
    (exchange / "notes.json").write_text("[1, 2, 3]")
    capsys.readouterr()
    out = tmp_path / "class"
    # When the instructor builds the class view
    code = main(["class-report", str(exchange), "-o", str(out)])
    _, err = capsys.readouterr()
    # Then each unreadable report is one clear line, and the two readable ones are counted
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("tutornb: ")]
    by_file = {Path(line.split(": ", 2)[1]).name: line.split(": ", 2)[2] for line in lines}
    assert by_file["python-foundations--cy.json"] == (
        "schema_version 99 is newer than this tutornb reads (1); upgrade tutornb"
    )
    assert by_file["python-foundations--dee.json"].startswith("truncated or not JSON at line ")
    assert by_file["python-foundations--eve.json"].startswith("wrong shape: modules.0.phase: Input should be")
    assert by_file["notes.json"] == "wrong shape: not a tutornb progress report"
    assert len(lines) == 4
    view = json.loads((out / "class.json").read_text())
    assert list(view)[:6] == ["course_id", "learners", "objectives", "quiz", "misconceptions", "uncovered"]
    assert (view["course_id"], view["learners"]) == ("python-foundations", 2)
    # mastery per objective: both learners assessed on indexing
    indexing = next(o for o in view["objectives"] if o["objective_id"] == "indexing")
    assert indexing["learners"] == 2
    assert sum(indexing["distribution"]) == 2
    # difficulty: lists-q1 answered A by ann (wrong), B by bo (right)
    q1 = next(q for q in view["quiz"] if q["question_id"] == "lists-q1")
    assert (q1["learners"], q1["first_try_correct"], q1["difficulty"]) == (2, 1, 0.5)
    assert q1["wrong_choices"] == {"0": 1}
    assert q1["question"].startswith("With `nums = [10, 20, 30]`")
    # the misconception with the wrong choice behind it
    top = next(m for m in view["misconceptions"] if m["question_id"] == "lists-q1")
    assert (top["choice"], top["choice_text"], top["learners"]) == (0, "10", 1)
    # uncovered: counted for both, text only from bo, who consented
    uncovered = view["uncovered"]
    assert (uncovered["total"], uncovered["learners"], uncovered["consented"]) == (2, 2, 1)
    texts = [q["text"] for t in uncovered["topics"] for q in t["questions"]]
    assert texts == [SCRIPT_QUESTION]
    # And the page is self-contained and escapes learner text
    page = (out / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; not run &amp; what about tensorflow?" in page
    assert "<script" not in page
    assert "<link" not in page
    assert " src=" not in page
    assert " href=" not in page
    assert "prefers-color-scheme: dark" in page
    assert "@media print" in page
    assert page.count("<svg") == 3


def test_a_learner_sharing_twice_counts_once(exchange: Path, tmp_path: Path) -> None:
    ann = json.loads(shared_file(exchange, "ann").read_text())
    older = {**ann, "generated_at": "2020-01-01T00:00:00Z", "modules": []}
    (tmp_path / "old-ann.json").write_text(json.dumps(older))
    out = tmp_path / "class"
    assert (
        main(["class-report", str(exchange), str(tmp_path / "old-ann.json"), "-o", str(out), "--quiet"]) == 0
    )
    view = json.loads((out / "class.json").read_text())
    assert view["learners"] == 2
    assert any(o["objective_id"] == "changing" and o["learners"] == 2 for o in view["objectives"])


def test_nothing_readable_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "exchange"
    folder.mkdir()
    (folder / "a.json").write_text("{")
    out = tmp_path / "class"
    assert main(["class-report", str(folder), str(tmp_path / "missing"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"tutornb: {folder / 'a.json'}: truncated or not JSON at line 1 column 2" in err
    assert f"tutornb: {tmp_path / 'missing'}: no such report file or folder" in err
    assert "tutornb: no readable progress report; nothing written" in err
    assert not out.exists()


def test_reports_of_another_course_are_skipped_with_a_warning(
    exchange: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two reports of the course and one of another course in the same folder
    other = json.loads(shared_file(exchange, "ann").read_text())
    other.update(course_id="other", learner="zed")
    (exchange / "other--zed.json").write_text(json.dumps(other))
    out = tmp_path / "class"
    # When the instructor runs the documented command, the class view of the course is written
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert (
        "warning: skipped 1 report of course other (this class view is of python-foundations" in captured.err
    )
    assert "1 of other courses skipped" in captured.out
    assert json.loads((out / "class.json").read_text())["learners"] == 2
    # And --course chooses the other one
    assert main(["class-report", str(exchange), "-o", str(out), "--course", "other", "--quiet"]) == 0
    assert json.loads((out / "class.json").read_text())["learners"] == 1
    # And as many reports of two courses need a choice
    other.update(learner="zoe")
    (exchange / "other--zoe.json").write_text(json.dumps(other))
    assert main(["class-report", str(exchange), "-o", str(tmp_path / "tie"), "--quiet"]) == 1
    assert "as many reports of courses other, python-foundations: choose one with --course" in (
        capsys.readouterr().err
    )
