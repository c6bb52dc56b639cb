"""Shared reports on a real multi-user machine: real OS accounts share into an exchange folder set
up as ``docs/instructors.md`` says, and one of them forges.

The learner side runs as the learner's own account (a subprocess that drops root for that uid before
it touches the folder), the class report as the instructor (root here). Only what the learners
cannot forge decides who wrote a report: the file owner's uid, one report per uid.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tutornb.cli import main
from tutornb.instructor.reports.model import ModuleProgress, ProgressReport
from tutornb.models import Phase

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true", reason="needs root to create OS accounts"
)

COURSE = "py101"

# Runs as root until it has imported what it needs, then becomes the learner (the interpreter
# lives under /root, which other accounts cannot read) and does one thing as them.
AS_ACCOUNT = """
import json, os, sys
from tutornb.instructor.reports.exchange import ShareError, share_report
from tutornb.instructor.reports.model import ProgressReport
uid, gid, home, action, arg = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
payload = sys.stdin.read()
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.environ["HOME"] = home
if action == "share":
    try:
        print(share_report(ProgressReport.model_validate_json(payload), arg))
    except ShareError as exc:
        print(f"ShareError: {exc}")
elif action == "read":
    try:
        print(open(arg, encoding="utf-8").read())
    except OSError as exc:
        print(f"OSError: {exc.strerror}")
elif action == "write":
    with open(arg, "w", encoding="utf-8") as handle:
        handle.write(payload)
    print(arg)
"""


@dataclass
class Account:
    name: str
    uid: int
    gid: int
    home: Path

    def run(self, action: str, arg: str | Path, payload: str = "") -> str:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                AS_ACCOUNT,
                str(self.uid),
                str(self.gid),
                str(self.home),
                action,
                str(arg),
            ],
            input=payload,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def share(self, report: ProgressReport, folder: Path) -> str:
        return self.run("share", folder, report.model_dump_json())


@dataclass
class Machine:
    learners_group: str
    instructors_group: str
    make: Callable[[str], Account]


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A temporary folder the test accounts can reach (pytest's own sits under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="tutornb-identity-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    """Temporary OS accounts (learners in one shared primary group) and an instructors' group."""
    tag = secrets.token_hex(3)
    learners, instructors = f"tnbl{tag}", f"tnbi{tag}"
    users: list[str] = []
    for group in (learners, instructors):
        subprocess.run(["groupadd", group], check=True)

    def make(name: str) -> Account:
        user = f"{name}{tag}"
        subprocess.run(["useradd", "-M", "-N", "-g", learners, "-s", "/usr/sbin/nologin", user], check=True)
        users.append(user)
        entry = pwd.getpwnam(user)
        home = tmp_path / f"home-{user}"
        home.mkdir()
        os.chown(home, entry.pw_uid, entry.pw_gid)
        return Account(user, entry.pw_uid, entry.pw_gid, home)

    try:
        yield Machine(learners, instructors, make)
    finally:
        for user in users:
            subprocess.run(["userdel", user], check=False)
        for group in (learners, instructors):
            subprocess.run(["groupdel", group], check=False)


def exchange_folder(tmp_path: Path, machine: Machine, mode: int = 0o3773) -> Path:
    """The folder as the docs create it: owned by the instructors' group, setgid, sticky."""
    folder = tmp_path / "exchange"
    folder.mkdir()
    os.chown(folder, 0, grp.getgrnam(machine.instructors_group).gr_gid)
    folder.chmod(mode)
    return folder


def report(learner: str, mastery: float, *, when: str = "2026-12-01T10:00:00Z") -> ProgressReport:
    return ProgressReport(
        generated_at=datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(timezone.utc),
        learner=learner,
        course_id=COURSE,
        modules=[
            ModuleProgress(
                module_id="lists",
                sessions=1,
                phase=Phase.LEARNING,
                time_active_seconds=60,
                mastery={"append": mastery},
            )
        ],
    )


def test_a_shared_report_is_readable_by_the_instructors_only(tmp_path: Path, machine: Machine) -> None:
    # Given two learners of one primary group and an exchange folder of the instructors' group
    ann, bob = machine.make("ann"), machine.make("bob")
    folder = exchange_folder(tmp_path, machine)

    # When ann shares her report
    shared = Path(ann.share(report(ann.name, 0.9), folder))

    # Then its name is hers with a random suffix nobody can guess
    assert shared.parent == folder
    prefix = f"py101__{ann.name}__"
    assert shared.name.startswith(prefix), shared.name
    assert shared.name.endswith(".json")
    suffix = shared.name[len(prefix) : -len(".json")]
    assert len(suffix) >= 16
    assert suffix.isalnum()
    # And only she and the instructors' group can read it: not her classmates, not the world
    info = shared.stat()
    assert info.st_uid == ann.uid
    assert info.st_gid == grp.getgrnam(machine.instructors_group).gr_gid
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert bob.run("read", shared) == "OSError: Permission denied"
    assert json.loads(ann.run("read", shared))["learner"] == ann.name

    # When she shares again
    again = Path(ann.share(report(ann.name, 1.0), folder))
    # Then her report is replaced, not doubled
    assert again == shared
    assert [p.name for p in folder.iterdir()] == [shared.name]
    assert json.loads(shared.read_text())["modules"][0]["mastery"] == {"append": 1.0}


def test_without_an_instructors_group_a_report_is_the_learners_alone(
    tmp_path: Path, machine: Machine
) -> None:
    # Given a folder with no group set up for the instructors (no setgid, no ACL)
    ann = machine.make("ann")
    folder = tmp_path / "exchange"
    folder.mkdir()
    folder.chmod(0o1733)
    # When ann shares, her classmates (same primary group) cannot read it
    shared = Path(ann.share(report(ann.name, 0.5), folder))
    assert stat.S_IMODE(shared.stat().st_mode) == 0o600


def test_forged_reports_are_listed_and_never_merged(
    tmp_path: Path, machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given ann and bob who shared their own reports
    ann, bob = machine.make("ann"), machine.make("bob")
    folder = exchange_folder(tmp_path, machine)
    ann_file = Path(ann.share(report(ann.name, 0.25), folder))
    bob.share(report(bob.name, 0.5), folder)
    # When bob forges: ann's name with full mastery and a date in 2099, under a name like hers, and
    # 30 invented learners, and a file that claims to be carol's before carol shares
    forged = report(ann.name, 1.0, when="2099-01-01T00:00:00Z").model_dump_json()
    bob.run("write", folder / f"py101__{ann.name}__{'0' * 16}.json", forged)
    for number in range(30):
        invented = report(f"ghost{number}", 1.0).model_dump_json()
        bob.run("write", folder / f"py101__ghost{number}__{'1' * 16}.json", invented)
    carol = machine.make("carol")
    bob.run("write", folder / f"py101--{carol.name}.json", report(carol.name, 1.0).model_dump_json())
    # And bob shares twice more, dating one report in 2099
    bob.run(
        "write",
        folder / f"py101__{bob.name}__{'2' * 16}.json",
        report(bob.name, 0.1, when="2099-01-01T00:00:00Z").model_dump_json(),
    )
    os.utime(folder / f"py101__{bob.name}__{'2' * 16}.json", (1_000_000_000, 1_000_000_000))
    # And carol shares after all that
    carol_file = Path(carol.share(report(carol.name, 0.75), folder))
    assert carol_file.name != f"py101--{carol.name}.json"

    # When the instructor builds the class view
    out = tmp_path / "class"
    assert main(["class-report", str(folder), "-o", str(out), "--quiet"]) == 0

    # Then the class is exactly the three real learners with their real records
    view = json.loads((out / "class.json").read_text())
    assert view["learners"] == 3
    (objective,) = view["objectives"]
    assert objective["learners"] == 3
    assert objective["mean"] == round((0.25 + 0.5 + 0.75) / 3, 3)
    # And every forgery is named, none merged
    captured = capsys.readouterr()
    err = captured.err
    assert (
        f"py101__{ann.name}__{'0' * 16}.json: written by account {bob.name!r} but names learner {ann.name!r}"
        in err
    )
    assert (
        f"py101--{carol.name}.json: written by account {bob.name!r} but names learner {carol.name!r}" in err
    )
    assert err.count(f"written by account {bob.name!r}") == 32
    assert "another report by the same account" in err
    assert "33 not counted" in captured.out
    assert ann_file.exists()


def test_a_folder_anyone_can_replace_files_in_is_refused(
    tmp_path: Path, machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an exchange folder writable by everyone without the sticky bit
    ann = machine.make("ann")
    folder = tmp_path / "exchange"
    folder.mkdir()
    folder.chmod(0o777)
    # Then sharing into it is refused with the reason and the fix
    said = ann.share(report(ann.name, 0.5), folder)
    assert said.startswith("ShareError: ")
    assert "writable by everyone without the sticky bit" in said
    assert list(folder.iterdir()) == []
    # And so is reading it
    (folder / "py101--x.json").write_text(report("x", 0.5).model_dump_json())
    assert main(["class-report", str(folder), "-o", str(tmp_path / "class"), "--quiet"]) == 1
    assert "writable by everyone without the sticky bit" in capsys.readouterr().err
    assert not (tmp_path / "class").exists()


@pytest.mark.parametrize(
    "names",
    [
        ("jörg", "jürg"),
        ("张伟", "王芳", "李娜"),
        ("a_b", "a-b", "a.b", "a b"),
        ("x__y", "x_", "_y", ".x", "_2e" + "x"),
    ],
)
def test_names_are_encoded_without_collisions(tmp_path: Path, names: tuple[str, ...]) -> None:
    # Given learners whose names differ only in characters a file name cannot hold as such
    from tutornb.instructor.reports.exchange import share_report

    folder = tmp_path / "exchange"
    folder.mkdir()
    folder.chmod(0o1733)
    # When each shares (here all as one account: the folder's owner collects them)
    files = {name: share_report(report(name, 0.5), folder) for name in names}
    # Then each has a file of its own, and the names tell them apart before the random suffix
    assert len({path.name for path in files.values()}) == len(names)
    assert len({path.name.rsplit("__", 1)[0] for path in files.values()}) == len(names)
    for name, path in files.items():
        assert json.loads(path.read_text())["learner"] == name
