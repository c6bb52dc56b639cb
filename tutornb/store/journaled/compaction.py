"""Compaction and backups: the next snapshot, the previous one kept, old files gzipped.

A compaction writes snapshot ``generation + 1`` of the current state and an empty journal for it,
keeping the previous snapshot as ``snapshot.jsonl.bak`` and the previous journal as
``journal.jsonl.prev`` (hard links when possible) so recovery always has one generation to fall back
on. It runs under the store's exclusive lock; in the server it runs in a background thread once the
journal is large, so a commit never waits for it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from collections.abc import Callable

from tutornb.errors import StoreError
from tutornb.store import files
from tutornb.store.files import JOURNAL, JOURNAL_PREV, SNAPSHOT, SNAPSHOT_BAK
from tutornb.store.journaled.journal import Journal
from tutornb.store.journaled.tables import Tables

log = logging.getLogger("tutornb.store")

#: Compaction starts once the journal passes this size (or 1/8 of the snapshot, up to the maximum).
DEFAULT_COMPACT_BYTES = 1 << 20
MAX_COMPACT_BYTES = 8 << 20


def threshold(journal: Journal, compact_bytes: int) -> int:
    return max(compact_bytes, min(journal.snapshot_size // 8, MAX_COMPACT_BYTES))


def write_generation(journal: Journal, tables: Tables, generation: int, *, backup_copy: bool) -> None:
    """Snapshot ``generation`` of the current state + an empty journal for it, never without a snapshot.

    ``backup_copy`` writes the new snapshot as the backup too (after recovery, when the old files are
    the damaged ones).
    """
    folder = journal.folder
    data = tables.encode_snapshot(generation)
    snap_tmp = folder / f"{SNAPSHOT}.tmp"
    journal_tmp = folder / f"{JOURNAL}.tmp"
    try:
        files.write_file_synced(snap_tmp, data)
        files.write_file_synced(journal_tmp, files.journal_header(generation))
        if backup_copy:
            files.write_file_synced(folder / f"{SNAPSHOT_BAK}.tmp", data)
            os.replace(folder / f"{SNAPSHOT_BAK}.tmp", folder / SNAPSHOT_BAK)
        elif files.exists(folder / SNAPSHOT):
            files.link_or_copy(folder / SNAPSHOT, folder / SNAPSHOT_BAK)
        if files.exists(folder / JOURNAL):
            files.link_or_copy(folder / JOURNAL, folder / JOURNAL_PREV)
        os.replace(snap_tmp, folder / SNAPSHOT)
        journal.broken = True  # until the journal is replaced too, our journal no longer matches
        os.replace(journal_tmp, folder / JOURNAL)
        files.fsync_dir(folder)
    except OSError as exc:
        for tmp in (snap_tmp, journal_tmp):
            files.unlink_own_file(tmp)
        raise files.store_error(exc, "compact its files") from exc
    journal.generation = generation
    journal.reopen_files()
    journal.broken = False


def compact_locked(journal: Journal, tables: Tables) -> None:
    """Under the exclusive lock, caught up: the next generation, unless the journal is empty."""
    if journal.offset <= len(files.journal_header(journal.generation)) and not journal.broken:
        return
    write_generation(journal, tables, journal.generation + 1, backup_copy=False)


def shrink_backups(journal: Journal, mutex: threading.RLock, is_closed: Callable[[], bool]) -> None:
    """Gzips the previous snapshot and journal (read only when recovering): a smaller footprint.

    The compression runs outside every lock; the swap happens under the store lock, and only if no
    compaction replaced the file meanwhile.
    """
    folder = journal.folder
    for name in (SNAPSHOT_BAK, JOURNAL_PREV):
        path = folder / name
        tmp = folder / f"{name}.gz.tmp"
        try:
            data, ino = files.read_bytes_and_inode(path)
            if data.startswith(files.GZIP_MAGIC) or len(data) < 4096:
                continue
            files.write_file_synced(tmp, zlib.compress(data, 1, wbits=31))
        except OSError:
            continue
        with mutex:
            if is_closed():
                files.unlink_own_file(tmp)
                return
            journal.flock(fcntl.LOCK_EX)
            try:
                if os.stat(path, follow_symlinks=False).st_ino == ino:
                    os.replace(tmp, path)
                    files.fsync_dir(folder)
                else:
                    os.unlink(tmp)
            except OSError:
                files.unlink_own_file(tmp)
            finally:
                journal.unflock()


class Compactor:
    """The background thread that compacts after a commit took the journal past the threshold.

    A failure is logged and retried after a later commit: it is never reported to the writer whose
    change was already acknowledged.
    """

    def __init__(
        self, compact: Callable[[], None], wanted: Callable[[], bool], is_closed: Callable[[], bool]
    ) -> None:
        self._compact = compact
        self._wanted = wanted
        self._is_closed = is_closed
        self._event = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tutornb-store-compaction", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._event.set()

    def stop(self) -> None:
        self._event.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._is_closed():
            self._event.wait()
            self._event.clear()
            if self._is_closed() or not self._wanted():
                continue
            compact_quietly(self._compact, self._is_closed)


def compact_quietly(compact: Callable[[], None], is_closed: Callable[[], bool]) -> None:
    """Compaction after an acknowledged commit: a failure is logged, never raised to that caller."""
    if is_closed():
        return
    try:
        compact()
    except (OSError, StoreError) as exc:
        if not is_closed():
            log.warning("store compaction failed (will retry): %s", exc)
