"""``tutornb class-report`` against files that try to hang, exhaust or fool it.

A fifo or a device where a report was (swapped in after the folder was listed), a huge report,
a report of hundreds of thousands of entries, and names or ids that carry terminal escapes: each
is one escaped line, the rest of the class is still read, and memory and the page stay bounded.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.instructor.conftest import shared_file
from tutornb.cli import main

# read_report on one path, in a child process: a reader that blocks shows up as a timeout.
READ_ONE = """
import sys
from pathlib import Path
from tutornb.instructor.reports.reading import read_report
print(read_report(Path(sys.argv[1])).problem)
"""


def read_in_child(path: Path) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", READ_ONE, str(path)], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path.name} blocked for 30 s")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_fifo_swapped_in_for_a_report_does_not_hang_the_reader(tmp_path: Path) -> None:
    # Given a report that became a fifo after the folder was listed (nobody writes to it)
    fifo = tmp_path / "py101--ann.json"
    os.mkfifo(fifo)
    # Then reading it answers at once
    assert read_in_child(fifo) == "not a regular file; not a progress report"


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_swapped_in_for_a_report_is_not_read(tmp_path: Path) -> None:
    # Given /dev/zero's device node under a report's name (it reads forever)
    zero = tmp_path / "py101--ann.json"
    os.mknod(zero, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    assert read_in_child(zero) == "not a regular file; not a progress report"


def test_a_link_to_a_report_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "py101--ann.json").symlink_to(tmp_path / "real.json")
    assert read_in_child(tmp_path / "py101--ann.json") == "a symbolic link; not followed"


def test_oversized_reports_are_skipped_and_counted(
    exchange: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ann = json.loads(shared_file(exchange, "ann").read_text())
    # Given a report of 300,000 mastery keys (4 MiB), and one of 20,000 keys (under 1 MiB)
    huge = {**ann, "learner": "huge"}
    huge["modules"][0]["mastery"] = {f"k{i:06d}": 0.5 for i in range(300_000)}
    (exchange / "python-foundations--huge.json").write_text(json.dumps(huge))
    many = {**ann, "learner": "many"}
    many["modules"] = [{**ann["modules"][0], "mastery": {f"k{i:05d}": 0.5 for i in range(20_000)}}]
    (exchange / "python-foundations--many.json").write_text(json.dumps(many))
    out = tmp_path / "class"
    # When the instructor builds the class view
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    # Then both are named and left out, and the two real learners are the class
    assert "python-foundations--huge.json: larger than 1024 KiB; not a progress report" in captured.err
    assert "python-foundations--many.json: 20" in captured.err
    assert "entries, more than a report holds (10000)" in captured.err
    assert "(2 learners, 2 unreadable)" in captured.out
    assert json.loads((out / "class.json").read_text())["learners"] == 2


def test_the_page_is_capped_and_the_summary_says_so(
    exchange: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a report that is within the limits but names 5,000 objectives
    ann = json.loads(shared_file(exchange, "ann").read_text())
    wide = {**ann, "learner": "wide"}
    wide["modules"] = [{**ann["modules"][0], "mastery": {f"o{i:04d}": 0.5 for i in range(5_000)}}]
    (exchange / "python-foundations--wide.json").write_text(json.dumps(wide))
    out = tmp_path / "class"
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    # Then the view keeps 1,000 objective rows (those most learners have) and says how many it left out
    view = json.loads((out / "class.json").read_text())
    assert len(view["objectives"]) == 1_000
    assert any(o["objective_id"] == "indexing" and o["learners"] == 2 for o in view["objectives"])
    assert "table rows over the page cap left out" in capsys.readouterr().out


def test_terminal_escapes_in_names_and_ids_are_printed_escaped(
    exchange: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file whose name writes the clipboard (OSC 52), and a report of a course whose id
    # clears the screen and fakes a line
    (exchange / "\x1b]52;c;ZXZpbA==\x07.json").write_text("{")
    ann = json.loads(shared_file(exchange, "ann").read_text())
    (exchange / "x--y.json").write_text(json.dumps({**ann, "course_id": "\x1b[2J\rall good\u202e"}))
    out = tmp_path / "class"
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    # Then nothing the terminal would act on is printed, and the escapes are visible
    for text in (captured.out, captured.err):
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\r" not in text
        assert "\u202e" not in text
    assert "\\x1b]52;c;ZXZpbA==\\x07.json: truncated or not JSON" in captured.err
    assert "course \\x1b[2J\\x0dall good\\u202e" in captured.err
