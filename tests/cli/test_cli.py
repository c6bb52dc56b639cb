"""The real ``tutornb`` console script, run in a subprocess against a store in a temp folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutornb.models import Citation, CourseContext, Role, Status
from tutornb.store import NewMessage, SessionStore


def _script() -> list[str]:
    beside = Path(sys.executable).parent / "tutornb"
    found = str(beside) if beside.exists() else shutil.which("tutornb")
    assert found, "the tutornb console script is not installed (pip install -e .)"
    return [found]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TUTORNB_STORE_DIR", None)
    return subprocess.run([*_script(), *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("tutornb: ")


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / ".tutornb"
    store = SessionStore(folder, background_compaction=False)
    now = datetime.now(timezone.utc)
    ids = []
    for i, (course, module, text) in enumerate(
        [
            ("python-basics", "02-lists", "How do I slice a list?"),
            ("python-basics", "03-dicts", "What is a dictionary key?"),
            ("statistics", "01-mean", "Explain the median"),
        ]
    ):
        session = store.create_session(
            "learner",
            CourseContext(course_id=course, module_id=module, module_title=module.title()),
            now=now - timedelta(days=10 - i),
        )
        store.append_message(session.id, NewMessage(Role.LEARNER, text, client_id=f"c{i}"))
        store.append_message(
            session.id,
            NewMessage(
                Role.TUTOR,
                f"Answer {i}",
                citations=(Citation(notebook_path="nb.ipynb", cell_index=i, heading="Intro"),),
            ),
        )
        ids.append(session.id)
    store.set_status(ids[0], Status.CLOSED)
    store.close()
    return folder, ids


def test_sessions_lists_filters_and_searches(seeded: tuple[Path, list[str]]) -> None:
    # Given a store with three sessions
    folder, ids = seeded

    # When listing all, by course, by status and by text
    everything = run("sessions", "--store", str(folder))
    course = run("sessions", "--course", "statistics", "--store", str(folder))
    open_ones = run("sessions", "--status", "active,paused", "--store", str(folder))
    found = run("--store", str(folder), "sessions", "--q", "DICTIONARY")

    # Then each lists exactly the matching sessions, newest first
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == [ids[2], ids[1], ids[0]]
    assert "3 sessions" in everything.stdout
    assert ids[2] in course.stdout
    assert ids[1] not in course.stdout
    assert ids[0] not in open_ones.stdout
    assert ids[1] in open_ones.stdout
    assert ids[1] in found.stdout
    assert ids[2] not in found.stdout


def test_show_prints_the_transcript(seeded: tuple[Path, list[str]]) -> None:
    # Given a closed (compressed) session
    folder, ids = seeded

    # When shown
    result = run("show", ids[0], "--store", str(folder))

    # Then its messages and citations are printed
    assert result.returncode == 0, result.stderr
    assert "How do I slice a list?" in result.stdout
    assert "Answer 0" in result.stdout
    assert "nb.ipynb · cell 1 · Intro" in result.stdout  # cells counted from 1, as in the panel


def test_export_each_format_and_import_round_trip(seeded: tuple[Path, list[str]], tmp_path: Path) -> None:
    # Given a session
    folder, ids = seeded
    out = tmp_path / "out"
    out.mkdir()

    # When exported in every format into a folder, and the JSON imported back
    results = [
        run("export", ids[1], "--format", fmt, "-o", str(out), "--store", str(folder))
        for fmt in ("json", "markdown", "ipynb")
    ]
    exported = sorted(p.name for p in out.iterdir())
    json_file = next(out.glob("*.json"))
    imported = run("import", str(json_file), "--store", str(folder))
    listing = run("sessions", "--q", "dictionary key", "--store", str(folder))

    # Then the server-chosen names are safe, the notebook is valid, and the import is a new session
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert exported == sorted(f"tutornb-03-dicts-{ids[1]}.{ext}" for ext in ("ipynb", "json", "md"))
    notebook = json.loads(next(out.glob("*.ipynb")).read_text())
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["tutornb"]["module_id"] == "03-dicts"
    assert imported.returncode == 0, imported.stderr
    assert "2 session" in listing.stdout


def test_export_to_stdout(seeded: tuple[Path, list[str]]) -> None:
    # Given a session; When exported as JSON to standard output
    folder, ids = seeded
    result = run("export", ids[2], "--store", str(folder))

    # Then stdout is the JSON export document
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "tutornb.session"
    assert [m["text"] for m in document["messages"]] == ["Explain the median", "Answer 2"]


def test_errors_are_one_line_without_traceback(seeded: tuple[Path, list[str]], tmp_path: Path) -> None:
    # Given a store, a junk file and an empty folder
    folder, _ = seeded
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")

    # When commands fail in different ways
    # Then each failure is one line on stderr, with a non-zero exit
    assert_clean_failure(run("show", "no-such-session", "--store", str(folder)))
    assert_clean_failure(run("show", "../../etc/passwd", "--store", str(folder)))
    assert_clean_failure(run("import", str(junk), "--store", str(folder)))
    assert_clean_failure(run("import", str(tmp_path / "missing.json"), "--store", str(folder)))
    assert_clean_failure(run("sessions", "--status", "sleepy", "--store", str(folder)))
    assert_clean_failure(run("sessions", "--limit", "0", "--store", str(folder)))
    assert_clean_failure(run("compact", "--store", str(tmp_path / "empty")))
    assert_clean_failure(run("cleanup", "--store", str(folder)))
    usage = run("export")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


def test_doctor_reports_and_repairs_a_damaged_snapshot(seeded: tuple[Path, list[str]]) -> None:
    # Given a store compacted twice (so it has a backup) whose snapshot then gets damaged
    folder, ids = seeded
    assert run("compact", "--store", str(folder)).returncode == 0
    store = SessionStore(folder, background_compaction=False)
    store.append_message(ids[1], NewMessage(Role.LEARNER, "after the first compaction"))
    store.close()
    assert run("compact", "--store", str(folder)).returncode == 0
    snapshot = folder / "snapshot.jsonl"
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0x55
    snapshot.write_bytes(bytes(data))

    # When the doctor checks, then repairs
    check = run("doctor", "--store", str(folder))
    repair = run("doctor", "--repair", "--store", str(folder))
    recheck = run("doctor", "--store", str(folder))

    # Then the damage is reported, repaired from the backup, and nothing is lost
    assert check.returncode == 1
    assert "[error] snapshot.jsonl:" in check.stdout
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "recovered" in repair.stdout
    assert recheck.returncode == 0
    assert "all consistent" in recheck.stdout
    assert list(folder.glob("snapshot.jsonl.*.corrupt"))
    shown = run("show", ids[1], "--store", str(folder))
    assert "after the first compaction" in shown.stdout


def test_compact_and_cleanup(seeded: tuple[Path, list[str]]) -> None:
    # Given three sessions, one closed
    folder, ids = seeded

    # When compacting, then keeping at most one session
    compact = run("compact", "--store", str(folder))
    cleanup = run("cleanup", "--max-sessions", "1", "--store", str(folder))
    listing = run("sessions", "--store", str(folder))

    # Then the closed one went first and the newest remains
    assert compact.returncode == 0
    assert "Compacted" in compact.stdout
    assert cleanup.returncode == 0
    assert "Deleted 2 sessions." in cleanup.stdout
    assert cleanup.stdout.splitlines()[1].strip() == ids[0]
    assert ids[2] in listing.stdout
    assert "1 session" in listing.stdout


def test_store_defaults_to_the_nearest_tutornb_folder(seeded: tuple[Path, list[str]]) -> None:
    # Given a store in a folder, and a sub-folder of it
    folder, ids = seeded
    sub = folder.parent / "notebooks" / "week1"
    sub.mkdir(parents=True)

    # When the CLI runs there without --store (and without TUTORNB_STORE_DIR)
    result = run("sessions", cwd=sub)

    # Then it finds the course's store
    assert result.returncode == 0, result.stderr
    assert ids[2] in result.stdout


def test_lab_command(tmp_path: Path) -> None:
    # Given the CLI; When asked for the lab command without running it
    result = run("lab", "--port", "8899", "--dry-run", cwd=tmp_path)

    # Then it is this interpreter's jupyter lab on the course, on loopback, with --allow-root as root
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{sys.executable} -m jupyterlab ")
    assert "--ServerApp.port=8899" in result.stdout
    assert "--ServerApp.ip=127.0.0.1" in result.stdout
    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    assert f"--ServerApp.root_dir={notebooks}" in result.stdout
    assert ("--allow-root" in result.stdout) == (os.geteuid() == 0)


def test_lab_starts_jupyterlab_on_the_course(tmp_path: Path) -> None:
    # Given a free loopback port and a token
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ)

    # When `tutornb lab` runs (extra options pass through to jupyter lab)
    process = subprocess.Popen(
        [*_script(), "lab", "--port", str(port), "--no-browser", "--ServerApp.token=cli-test"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/?token=cli-test&content=1"
                with urllib.request.urlopen(url, timeout=5) as response:
                    status = response.status
                    listing = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)

        # Then JupyterLab answers on loopback, serving the course notebooks
        assert status == 200, process.stderr.read() if process.poll() is not None else "no answer"
        names = {item["name"] for item in listing["content"]}
        assert any(name.endswith(".ipynb") for name in names), names
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
