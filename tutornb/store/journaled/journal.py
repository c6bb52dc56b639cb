"""The journal on disk, and catching up with the commits of other processes.

``journal.jsonl`` is a header naming the snapshot generation it applies to, then one checksummed line
per commit. Every commit holds an exclusive ``flock`` on ``store.lock``; other processes (the Jupyter
server and its kernels) read each other's new lines incrementally, and follow a compaction (a new
snapshot and journal) without a full reload. Anything unexpected falls back to ``reload`` (recovery).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutornb.store import files
from tutornb.store.files import JOURNAL, JOURNAL_PREV, LOCK, SNAPSHOT, Damaged
from tutornb.store.journaled.tables import Tables

log = logging.getLogger("tutornb.store")


class Journal:
    """Our position in the store's files: the open journal, how far we read it, which generation."""

    def __init__(self, folder: Path, tables: Tables, *, lock: bool) -> None:
        self.folder = folder
        self.tables = tables
        # Plain strings: these are stat'ed on every operation, and building Paths costs more.
        self.journal_path = str(folder / JOURNAL)
        self.snapshot_path = str(folder / SNAPSHOT)
        #: Only the negative control of the reliability tests turns locking off.
        self.use_flock = lock
        #: Set by the storage: rebuilds everything from disk (recovery) when following fails.
        self.reload: Callable[[], None] = lambda: None
        #: What recovery had to do, in words (no paths): shown by ``/status`` and ``doctor``.
        self.recovered: list[str] = []
        self.generation = 0
        self.fd = -1
        self.ino = 0
        #: Bytes of the journal applied to memory (where our next commit goes).
        self.offset = 0
        self.snapshot_ino = 0
        self.snapshot_size = 0
        #: Memory may not match disk (a failed write we could not undo): reload first.
        self.broken = False
        self.lock_fd = files.open_private(folder / LOCK, os.O_RDWR | os.O_CREAT)

    # -- locking

    def flock(self, mode: int) -> None:
        if self.use_flock:
            fcntl.flock(self.lock_fd, mode)

    def unflock(self) -> None:
        if self.use_flock and self.lock_fd >= 0:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def locked(self, mode: int, fn: Callable[[], Any]) -> Any:
        self.flock(mode)
        try:
            return fn()
        finally:
            self.unflock()

    def close(self) -> None:
        for attr in ("fd", "lock_fd"):
            fd = getattr(self, attr)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, -1)

    def note(self, message: str) -> None:
        log.warning("store recovery: %s", message)
        self.recovered.append(message)

    def size_on_disk(self) -> int:
        return self.snapshot_size + self.offset

    # -- appending

    def append(self, line: bytes) -> None:
        """Appends one commit and fsyncs it; on failure the journal is cut back (or marked broken)."""
        start = self.offset
        try:
            # ``sync_locked`` (at the start of this transaction, under the same lock) left the
            # journal exactly ``start`` bytes long: a crashed writer's torn line was cut there.
            files.write_all(self.fd, line)
            os.fsync(self.fd)
        except OSError:
            try:
                os.ftruncate(self.fd, start)
                os.fsync(self.fd)
            except OSError:
                # We cannot tell what is on disk any more: reload before the next operation.
                self.broken = True
            raise
        self.offset = start + len(line)

    # -- opening

    def reopen_files(self) -> None:
        """Opens the current journal (positioned after its header) and notes the snapshot."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        fd = files.open_private(self.folder / JOURNAL, os.O_RDWR | os.O_APPEND)
        self.fd = fd
        st = os.fstat(fd)
        self.ino = st.st_ino
        head = os.pread(fd, 4096, 0)
        self.offset = head.find(b"\n") + 1
        snap = os.stat(self.snapshot_path)
        self.snapshot_ino = snap.st_ino
        self.snapshot_size = snap.st_size

    def open_fresh(self, generation: int) -> None:
        files.atomic_write(self.folder, JOURNAL, files.journal_header(generation))
        self.reopen_files()

    def open_existing(self, read: files.JournalRead) -> None:
        """Continues a journal that was replayed, cutting off a torn last line."""
        self.reopen_files()
        if read.torn or os.fstat(self.fd).st_size != read.valid_end:
            os.ftruncate(self.fd, read.valid_end)
            os.fsync(self.fd)
        self.offset = read.valid_end

    # -- catching up

    def catch_up(self) -> None:
        """Cheap when nothing changed: one ``stat`` of the journal."""
        if self.broken:
            self.locked(fcntl.LOCK_EX, self.sync_locked)
            return
        try:
            st = os.stat(self.journal_path)
        except FileNotFoundError:
            self.locked(fcntl.LOCK_EX, self.sync_locked)
            return
        if st.st_ino == self.ino and st.st_size == self.offset:
            return
        if self.locked(fcntl.LOCK_SH, self._sync_shared):
            return
        self.locked(fcntl.LOCK_EX, self.sync_locked)

    def _sync_shared(self) -> bool:
        """Under a shared lock no commit is in flight: every complete line is committed."""
        st = os.stat(self.journal_path)
        if st.st_ino != self.ino:
            return self._follow_rotation()
        if st.st_size > self.offset:
            return self._read_new_lines(self.fd, self.offset, st.st_size, fix=False)
        return st.st_size == self.offset

    def sync_locked(self) -> None:
        """Under the exclusive lock: catch up, or reload (recovering) whenever anything is unexpected."""
        if self.broken:
            self.reload()
            return
        try:
            st_j = os.stat(self.journal_path)
            st_s = os.stat(self.snapshot_path)
        except FileNotFoundError:
            self.reload()
            return
        if st_s.st_ino != self.snapshot_ino or st_j.st_ino != self.ino:
            if not self._follow_rotation():
                self.reload()
            return
        if st_j.st_size > self.offset:
            if not self._read_new_lines(self.fd, self.offset, st_j.st_size, fix=True):
                self.reload()
        elif st_j.st_size < self.offset:
            self.note("the journal was shorter than expected; reloaded the store")
            self.reload()

    def _read_new_lines(self, fd: int, start: int, end: int, *, fix: bool) -> bool:
        data = os.pread(fd, end - start, start)
        pos = 0
        size = len(data)
        while pos < size:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break  # a line being written, or torn by a crash: the next writer truncates it
            payload = files.unframe(data[pos:nl])
            if payload is None:
                if fix and data.find(b"\n", nl + 1) < 0 and not data[nl + 1 :].strip():
                    break  # a damaged last line was never acknowledged: torn, truncated below
                self.offset = start + pos
                return False
            try:
                ops = json.loads(payload)
            except ValueError:
                self.offset = start + pos
                return False
            self.tables.apply_ops(ops, notify=True)
            pos = nl + 1
        self.offset = start + pos
        if fix and pos < size:
            # Under the exclusive lock nobody is writing: what follows the last good line is torn.
            os.ftruncate(fd, self.offset)
        return True

    def _follow_rotation(self) -> bool:
        """Another process compacted: finish our journal, then continue in the new one (no reload)."""
        try:
            old_size = os.fstat(self.fd).st_size
            if old_size > self.offset and not self._read_new_lines(self.fd, self.offset, old_size, fix=False):
                return False
            prev = os.stat(self.folder / JOURNAL_PREV, follow_symlinks=False)
            if prev.st_ino != self.ino:
                return False
            fd = os.open(self.folder / JOURNAL, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            st = os.fstat(fd)
            head = os.pread(fd, 4096, 0)
            first = head.find(b"\n")
            if first < 0:
                raise Damaged("journal header")
            read = files.read_journal(head[: first + 1])
            if read.header_damaged or read.generation != self.generation + 1:
                raise Damaged("journal generation")
            snap_fd = os.open(self.folder / SNAPSHOT, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                snap_st = os.fstat(snap_fd)
                if files.snapshot_generation(os.pread(snap_fd, 4096, 0)) != self.generation + 1:
                    raise Damaged("snapshot generation")
            finally:
                os.close(snap_fd)
        except (OSError, Damaged):
            os.close(fd)
            return False
        os.close(self.fd)
        self.fd = fd
        self.ino = st.st_ino
        self.offset = first + 1
        self.generation += 1
        self.snapshot_ino = snap_st.st_ino
        self.snapshot_size = snap_st.st_size
        if st.st_size > self.offset:
            return self._read_new_lines(fd, self.offset, st.st_size, fix=False)
        return True
