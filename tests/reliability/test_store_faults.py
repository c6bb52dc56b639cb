"""I/O fault injection: the N-th write, fsync or replace fails, for every N of a small workload; and
the
file-size limit (EFBIG) in a real subprocess.

In every case the failing call raises the store's error (no acknowledgement), the open store rolls
back to
what was acknowledged, and a fresh open of the store holds exactly the acknowledged contents.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tutornb.errors import StoreError
from tutornb.models import ActionLogEntry, CourseContext, Role, Status, StudyPlan, TutorState
from tutornb.store import NewMessage, SessionQuery, SessionStore

FAULTS = {"write": errno.ENOSPC, "fsync": errno.EIO, "replace": errno.EIO}


def dump(store: SessionStore) -> dict[str, Any]:
    """Everything a learner could see, in a comparable form."""
    out: dict[str, Any] = {}
    for summary in store.list_sessions(SessionQuery(limit=200)).sessions:
        exported = store.export_session(summary.id)
        out[summary.id] = exported.model_dump(mode="json", exclude={"exported_at"})
    plan = store.get_plan("k")
    out["plan"] = plan.model_dump(mode="json") if plan else None
    return out


def workload(store: SessionStore, acked: Callable[[], None]) -> None:
    """A small but complete workload; ``acked()`` after every call that returned."""
    first = store.list_sessions(SessionQuery()).sessions[0].id
    session = store.create_session("learner", CourseContext(course_id="py", module_id="m2"))
    acked()
    for i in range(3):
        store.append_message(session.id, NewMessage(Role.LEARNER, f"q{i}", client_id=f"c{i}"))
        acked()
    store.update_tutor_state(session.id, state=TutorState(topic="t"), actions=[ActionLogEntry(action="plan")])
    acked()
    store.put_plan("k", StudyPlan(topic="p"), timedelta(hours=1))
    acked()
    store.set_status(first, Status.CLOSED)
    acked()
    store.compact()
    acked()
    store.append_message(session.id, NewMessage(Role.TUTOR, "after compaction"))
    acked()
    store.delete_session(first)
    acked()


def seed(folder: Path) -> None:
    store = SessionStore(folder, background_compaction=False, compact_bytes=2048)
    session = store.create_session("learner", CourseContext(course_id="seed"))
    for i in range(4):
        store.append_message(session.id, NewMessage(Role.LEARNER, f"seed {i} " + "z" * 300))
    store.close()


@contextmanager
def failing(kind: str, nth: int, counter: dict[str, int]) -> Iterator[None]:
    """Makes the ``nth`` call of ``os.<kind>`` fail (counting from 1); counts every call."""
    real = getattr(os, kind)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        counter[kind] = counter.get(kind, 0) + 1
        if counter[kind] == nth:
            raise OSError(FAULTS[kind], os.strerror(FAULTS[kind]))
        return real(*args, **kwargs)

    setattr(os, kind, wrapper)
    try:
        yield
    finally:
        setattr(os, kind, real)


def run_case(folder: Path, kind: str, nth: int) -> tuple[bool, dict[str, int]]:
    """Runs the workload with one injected fault; returns whether it fired, after checking the
    store."""
    store = SessionStore(folder, background_compaction=False, compact_bytes=2048)
    states = [dump(store)]
    counter: dict[str, int] = {}
    failed = None
    with failing(kind, nth, counter):
        try:
            workload(store, lambda: states.append(dump(store)))
        except StoreError as exc:
            failed = exc
    fired = counter.get(kind, 0) >= nth
    expected = states[-1]
    # The open store rolled back to what was acknowledged, and keeps working.
    assert dump(store) == expected, (kind, nth)
    if failed is not None:
        assert failed.code == "STORE_UNAVAILABLE"
        assert str(folder) not in failed.message
    store.close()
    reopened = SessionStore(folder, background_compaction=False)
    assert dump(reopened) == expected, (kind, nth)
    probe = reopened.create_session("learner", CourseContext())
    reopened.append_message(probe.id, NewMessage(Role.LEARNER, "still works"))
    reopened.close()
    return fired, counter


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_every_nth_call_failing(tmp_path: Path, kind: str) -> None:
    # Given how many times the workload calls os.<kind>
    probe_folder = tmp_path / "probe"
    seed(probe_folder)
    _, counts = run_case(probe_folder, kind, 10**9)
    total = counts[kind]
    assert total >= 3

    # When the N-th call fails, for every N (each on a fresh copy of the seeded store)
    fired = 0
    for nth in range(1, total + 1):
        folder = tmp_path / f"{kind}-{nth}"
        seed(folder)
        did_fire, _ = run_case(folder, kind, nth)
        fired += did_fire

    # Then every case held (checked inside run_case), and every fault really fired
    assert fired == total


WRITER = textwrap.dedent(
    """
    import resource, sys
    from tutornb.errors import StoreError
    from tutornb.models import CourseContext, Role
    from tutornb.store import NewMessage, SessionStore

    store = SessionStore(sys.argv[1], background_compaction=False, compact_bytes=4096)
    session = store.create_session("learner", CourseContext())
    print("SESSION", session.id, flush=True)
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    for i in range(100000):
        try:
            store.append_message(session.id, NewMessage(Role.LEARNER, f"m{i} " + "y" * 500,
                                                        client_id=f"c{i}"))
        except StoreError as exc:
            print("ERROR", exc.code, flush=True)
            break
        print("ACK", f"c{i}", flush=True)
    # The process keeps a usable store after the refusal.
    print("COUNT", store.get_session(session.id).message_count, flush=True)
    """
)


def test_file_size_limit_efbig_in_a_subprocess(tmp_path: Path) -> None:
    # Given a writer process whose file-size limit (RLIMIT_FSIZE) is 20 kB
    folder = tmp_path / ".tutornb"

    # When it appends until a write hits the limit
    result = subprocess.run(
        [sys.executable, "-c", WRITER, str(folder), "20000"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then it got the store's error (not a crash), and a fresh open holds exactly the acknowledged
    # messages
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    session_id = lines[0].split()[1]
    acked = [line.split()[1] for line in lines if line.startswith("ACK")]
    assert "ERROR STORE_UNAVAILABLE" in result.stdout
    assert f"COUNT {len(acked)}" in result.stdout
    assert len(acked) >= 5
    store = SessionStore(folder, background_compaction=False)
    assert [m.client_id for m in store.messages(session_id)] == acked
    assert store.stats().recovered == []
    store.close()
