"""Crash and concurrency harness for the session store, shared by the tests and ``bench/crash.py``.

Writers are forked children (a real process, really killed with SIGKILL) that append messages and
report
each acknowledgement on a pipe only after ``append_message`` returned, i.e. after the fsync. The
verifier then
opens the store like a fresh process would and checks that every acknowledged message is there
exactly once.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tutornb.models import CourseContext, Role
from tutornb.store import NewMessage, SessionStore


@dataclass
class Verdict:
    readable: bool = True
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.readable and not self.lost and not self.duplicated and not self.problems


def create_sessions(folder: Path, count: int) -> list[str]:
    store = SessionStore(folder, background_compaction=False)
    try:
        return [
            store.create_session("learner", CourseContext(course_id="c", module_id=f"m{i}")).id
            for i in range(count)
        ]
    finally:
        store.close()


def _append_loop(
    folder: Path,
    session_id: str,
    prefix: str,
    count: int,
    ack_fd: int,
    lock: bool,
    compact_bytes: int | None,
) -> None:
    rng = random.Random(prefix)
    store = SessionStore(folder, background_compaction=False, compact_bytes=compact_bytes, lock=lock)
    for i in range(count):
        client_id = f"{prefix}-{i}"
        text = f"{client_id} " + "lorem ipsum " * rng.randint(0, 40)
        result = store.append_message(session_id, NewMessage(Role.LEARNER, text, client_id=client_id))
        os.write(ack_fd, f"{client_id} {result.message.seq}\n".encode())
    store.close()


def fork_writer(
    folder: Path,
    session_id: str,
    prefix: str,
    count: int,
    *,
    lock: bool = True,
    compact_bytes: int | None = None,
) -> tuple[int, int]:
    """Starts a writer process; returns (pid, read end of its acknowledgement pipe)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: append, acknowledge, never return into the test runner
        code = 0
        try:
            os.close(read_fd)
            _append_loop(folder, session_id, prefix, count, write_fd, lock, compact_bytes)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def collect_acks(read_fd: int, acked: set[str]) -> None:
    """Reads every complete acknowledgement line until the writer's end is closed."""
    buffer = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        buffer += chunk
    os.close(read_fd)
    for line in buffer.split(b"\n"):
        parts = line.split()
        if len(parts) == 2:
            acked.add(parts[0].decode())


def kill_and_reap(pid: int) -> int:
    """SIGKILL (if still running); returns the exit status."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return status


def wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def verify(folder: Path, session_ids: list[str], acked: set[str]) -> Verdict:
    """Opens the store as a new process would and checks every acknowledged message."""
    verdict = Verdict()
    try:
        store = SessionStore(folder, background_compaction=False)
    except Exception as exc:
        verdict.readable = False
        verdict.problems.append(f"store does not open: {type(exc).__name__}: {exc}")
        return verdict
    try:
        present: Counter[str] = Counter()
        for sid in session_ids:
            messages = store.messages(sid)
            seqs = [m.seq for m in messages]
            if seqs != list(range(1, len(seqs) + 1)):
                verdict.problems.append(f"session {sid}: seqs are not 1..n")
            if store.get_session(sid).message_count != len(messages):
                verdict.problems.append(f"session {sid}: message_count disagrees")
            present.update(m.client_id for m in messages if m.client_id)
        verdict.lost = len([c for c in acked if present[c] == 0])
        verdict.duplicated = sum(n - 1 for n in present.values() if n > 1)
    except Exception as exc:
        verdict.readable = False
        verdict.problems.append(f"store does not read: {type(exc).__name__}: {exc}")
    finally:
        store.close()
    return verdict


def kill_trial(
    folder: Path,
    session_id: str,
    trial: int,
    acked: set[str],
    rng: random.Random,
    *,
    compact_bytes: int = 16384,
    max_delay: float = 0.12,
) -> Verdict:
    """One writer killed at a random moment; returns the verdict on the whole store."""
    pid, read_fd = fork_writer(folder, session_id, f"t{trial}", 100_000, compact_bytes=compact_bytes)
    time.sleep(rng.uniform(0.0, max_delay))
    kill_and_reap(pid)
    collect_acks(read_fd, acked)
    return verify(folder, [session_id], acked)


def two_writer_round(
    folder: Path,
    session_ids: list[str],
    round_no: int,
    acked: set[str],
    rng: random.Random,
    *,
    lock: bool = True,
    kill: bool = True,
    count: int = 100_000,
    max_delay: float = 0.15,
) -> Verdict:
    """Two writers (server-side and kernel-side, say) on the same sessions; one or both killed."""
    writers = [
        fork_writer(
            folder,
            session_ids[i % len(session_ids)],
            f"r{round_no}w{i}",
            count,
            lock=lock,
            compact_bytes=16384,
        )
        for i in range(2)
    ]
    if kill:
        time.sleep(rng.uniform(0.02, max_delay))
        victims = rng.choice([[0], [1], [0, 1]])
        for index in victims:
            kill_and_reap(writers[index][0])
        for index in {0, 1} - set(victims):
            time.sleep(rng.uniform(0.0, 0.05))
            kill_and_reap(writers[index][0])
    else:
        for pid, _ in writers:
            wait(pid)
    for _, read_fd in writers:
        collect_acks(read_fd, acked)
    return verify(folder, session_ids, acked)
