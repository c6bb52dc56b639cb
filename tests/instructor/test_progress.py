"""``tutornb progress``: a learner's report from real tutor sessions, previewed before it is written."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.instructor.conftest import STRUGGLING, tutor_sessions
from tutornb.cli import main
from tutornb.instructor.reports.model import REPORT_SCHEMA_VERSION, ProgressReport


@pytest.fixture
def store(course: Path) -> Path:
    return tutor_sessions(course, "ann", STRUGGLING)


def test_report_needs_confirmation_and_shows_everything_first(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "ann.json"
    # When the learner asks for a report without confirming (no terminal to answer on)
    code = main(["progress", "--store", str(store), "-o", str(target)])
    out, err = capsys.readouterr()
    # Then the preview shows the exact document, and nothing is written
    assert code == 1
    assert not target.exists()
    assert "nothing written: confirm with --yes" in err
    assert '"format": "tutornb.progress"' in out
    assert "The text of your questions is NOT included" in out
    # When they confirm
    assert main(["progress", "--store", str(store), "-o", str(target), "--yes"]) == 0
    out, _ = capsys.readouterr()
    # Then the file is exactly the document the preview showed
    written = target.read_text(encoding="utf-8")
    assert written in out
    report = ProgressReport.model_validate_json(written)
    assert report.schema_version == REPORT_SCHEMA_VERSION
    assert (report.learner, report.course_id) == ("ann", "python-foundations")
    [module] = report.modules
    assert module.module_id == "lists-and-loops"
    assert module.phase.value in {"analyzing", "planning", "learning"}
    # mastery per objective, from the tutor's state after the quiz
    assert set(module.mastery) == {"indexing", "changing", "loops", "comprehensions"}
    assert module.mastery["indexing"] < 1.0
    # quiz attempts: lists-q1 was missed twice (quiz, then the follow-up) with choice A
    first = next(q for q in module.quiz if q.question_id == "lists-q1")
    assert (first.attempts, first.first_correct, first.choices, first.objective) == (
        2,
        False,
        [0, 0],
        "indexing",
    )
    # misconceptions with counts and the wrong choice behind them
    indexing = next(m for m in module.misconceptions if m.question_id == "lists-q1")
    assert (indexing.choice, indexing.count) == (0, 2)
    assert "counts indexes from 0" in indexing.text
    # the uncovered question is counted, but its text is not shared without consent
    assert module.uncovered_count == 1
    assert module.uncovered == []
    assert "tensorflow" not in written
    assert module.time_active_seconds >= 0


def test_question_text_only_with_consent(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["progress", "--store", str(store), "-o", str(tmp_path), "--yes", "--include-questions"])
    assert code == 0
    [written] = tmp_path.glob("*.json")
    assert written.name.startswith("python-foundations__ann__")
    report = json.loads(written.read_text())
    assert report["includes_questions"] is True
    [question] = report["modules"][0]["uncovered"]
    assert question["text"] == "How do I train a neural network with tensorflow?"
    assert "tensorflow" in question["terms"]
    assert "IS included" in capsys.readouterr().out


def test_unknown_or_ambiguous_course(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tutor_sessions(course, "ann", ["hello"])
    tutor_sessions(
        course, "ann", ["hello"], context={"course_id": "other", "notebook_path": "00_start_here.ipynb"}
    )
    target = tmp_path / "r.json"
    assert main(["progress", "--store", str(store), "-o", str(target), "--yes"]) == 1
    assert "sessions of several courses (other, python-foundations): choose one with --course" in (
        capsys.readouterr().err
    )
    assert main(["progress", "--store", str(store), "--course", "nope", "-o", str(target), "--yes"]) == 1
    assert "no tutoring sessions for course 'nope' yet" in capsys.readouterr().err
    assert not target.exists()
    assert main(["progress", "--store", str(store), "--course", "other", "-o", str(target), "--yes"]) == 0
    assert json.loads(target.read_text())["course_id"] == "other"


def test_interactive_yes_writes_and_no_does_not(store: Path, tmp_path: Path) -> None:
    """On a terminal the learner answers the question after the preview (a real pseudo-terminal)."""
    import os
    import pty
    import subprocess
    import sys

    for answer, written in (("n", False), ("y", True)):
        target = tmp_path / f"{answer}.json"
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "tutornb.cli", "progress", "--store", str(store), "-o", str(target)],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        os.write(controller, f"{answer}\n".encode())
        out, err = process.communicate(timeout=60)
        os.close(controller)
        assert b"Exactly this document will be written" in out
        assert target.exists() is written
        assert process.returncode == (0 if written else 1), err


def test_a_report_file_keeps_the_learners_umask(store: Path, tmp_path: Path) -> None:
    # Given a learner whose umask keeps their files private
    target = tmp_path / "mine.json"
    previous = os.umask(0o077)
    try:
        # When they write their report to a file of their own
        assert main(["progress", "--store", str(store), "-o", str(target), "--yes"]) == 0
    finally:
        os.umask(previous)
    # Then nobody else can read it
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
