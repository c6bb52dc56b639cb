"""``%tutor share`` in IPython's own shell on the real kernel path, and the exchange folder's
failures: missing, not writable — one clear line each, and nothing already shared is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.instructor.conftest import shared_file
from tests.support.kernel_shell import Shell, course_root, loaded_shell, reset_kernel_state
from tutornb.instructor.reports.exchange import ShareError, share_report
from tutornb.instructor.reports.model import ProgressReport


@pytest.fixture
def exchange(tmp_path: Path) -> Path:
    folder = tmp_path / "exchange"
    folder.mkdir()
    folder.chmod(0o2770)  # setgid: reports get the folder's group (the instructors')
    return folder


@pytest.fixture
def shell(
    tmp_path: Path, exchange: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Shell]:
    course_root(tmp_path, monkeypatch)
    monkeypatch.setenv("TUTORNB_EXCHANGE_DIR", str(exchange))
    monkeypatch.setenv("JUPYTERHUB_USER", "ann")
    with loaded_shell(capsys) as loaded:
        yield loaded
    reset_kernel_state()


def _said(shell: Shell, line: str) -> tuple[str, str]:
    """(what ``%tutor <line>`` printed and displayed as plain text, its stderr)."""
    out, err, shown = shell.run(line)
    return out + "".join(str(bundle.get("text/plain", "")) for bundle in shown), err


def test_share_previews_then_writes_exactly_that(shell: Shell, exchange: Path) -> None:
    # Given a learner who took part of the quiz and asked something the course does not cover
    for line in ("ask How do I train a neural network with tensorflow?", "ask quiz me", "ask go", "ask a"):
        shell.run(line)
    # When they run %tutor share
    out, err = _said(shell, "share")
    # Then they see the report and nothing is written yet
    assert err == ""
    assert '"learner": "ann"' in out
    assert "run `%tutor share --confirm`" in out
    assert list(exchange.iterdir()) == []
    # When they confirm
    out, err = _said(shell, "share --confirm")
    # Then exactly one file per learner and course lands in the exchange folder, readable by the instructor
    assert err == ""
    target = shared_file(exchange, "ann")
    assert f"Shared your progress report as {target.name}" in out
    report = ProgressReport.model_validate_json(target.read_text())
    assert report.modules[0].uncovered_count == 1
    assert report.modules[0].uncovered == []
    assert target.stat().st_mode & 0o777 == 0o640
    # When they study more and confirm without looking again
    shell.run("ask b")
    out, _ = _said(shell, "share --include-questions --confirm")
    # Then they are shown the new report first, and the shared one is unchanged
    assert "This differs from the report you saw last" in out
    assert ProgressReport.model_validate_json(target.read_text()) == report
    # When they confirm what they now saw
    out, _ = _said(shell, "share --include-questions --confirm")
    # Then the file is replaced (one per learner and course), now with the question text they agreed to
    assert [p.name for p in exchange.iterdir()] == [target.name]
    shared = json.loads(target.read_text())
    assert shared["modules"][0]["uncovered"][0]["text"].startswith("How do I train")


def test_missing_exchange_folder_is_one_line(shell: Shell, exchange: Path) -> None:
    shell.run("ask quiz me")
    exchange.rmdir()
    shell.run("share")
    _, err, _ = shell.run("share --confirm")
    assert (
        err.strip()
        == f"tutornb: the exchange folder {exchange} does not exist; ask your instructor to create it"
    )
    assert not exchange.exists()


def test_no_sessions_yet(shell: Shell) -> None:
    _, err, _ = shell.run("share")
    assert (
        err.strip() == "tutornb: no tutoring sessions for course 'python-foundations' yet: nothing to report"
    )


def _report() -> ProgressReport:
    return ProgressReport.model_validate(
        {"generated_at": "2026-01-01T00:00:00Z", "learner": "bo", "course_id": "c", "modules": []}
    )


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """A folder the current user cannot add files to: mode 0555, or for root (whom modes do not
    stop) the immutable attribute."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(folder)], check=False).returncode
    ):
        pytest.skip("running as root without chattr +i: no way to make a folder read-only here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_exchange_folder_not_writable_keeps_the_shared_report(tmp_path: Path) -> None:
    # Given an exchange folder holding bo's earlier report, that bo can no longer write to
    folder = tmp_path / "exchange"
    folder.mkdir()
    earlier = folder / "c--bo.json"
    earlier.write_text('{"earlier": true}')
    with _read_only(folder):
        # When bo shares again
        with pytest.raises(ShareError) as caught:
            share_report(_report(), folder)
        # Then one clear line, and the earlier report is untouched with no stray temp file
        assert (
            str(caught.value) == f"the exchange folder {folder} is not writable for you; nothing was shared"
        )
        assert earlier.read_text() == '{"earlier": true}'
        assert [p.name for p in folder.iterdir()] == ["c--bo.json"]


def test_exchange_not_configured_or_a_file(tmp_path: Path) -> None:
    with pytest.raises(ShareError, match=r"no exchange folder is configured \(TutorNBApp.exchange_dir\)"):
        share_report(_report(), None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ShareError, match="is not a folder"):
        share_report(_report(), tmp_path / "file")
