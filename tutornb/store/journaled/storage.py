"""``JournaledStorage``: the TinyDB storage, and the transactions that make its writes durable.

The database is kept in memory (``Tables``); each committed transaction is one checksummed line
appended to the journal (one ``fsync``) under the store's exclusive lock, after catching up with the
other processes' commits (``Journal``). Opening and recovery are in ``recovery``, snapshots and
backups in ``compaction``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from tutornb.errors import QuotaExceeded, StoreError
from tutornb.store import files
from tutornb.store.journaled import compaction, recovery
from tutornb.store.journaled.changes import ChangeLog, UpdateView
from tutornb.store.journaled.journal import Journal
from tutornb.store.journaled.tables import Doc, Listener, Tables

log = logging.getLogger("tutornb.store")


class JournaledStorage(Storage):
    """The TinyDB storage. ``path`` is the store folder (created private: 0700, files 0600)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        quota_bytes: int | None = None,
        compact_bytes: int = compaction.DEFAULT_COMPACT_BYTES,
        background_compaction: bool = True,
        lock: bool = True,
        normalize_documents: bool = True,
    ) -> None:
        self.folder = Path(path)
        self.quota_bytes = quota_bytes
        self.compact_bytes = compact_bytes
        #: Re-read each written document from its JSON, so memory never holds a tuple where disk
        #: has a list. A caller writing only JSON-clean, freshly built documents may turn it off.
        self.normalize_documents = normalize_documents
        self._mutex = threading.RLock()
        self._closed = False
        self._tx_depth = 0
        self._tables = Tables()
        self._changes = ChangeLog(self._tables)
        files.open_store_folder(self.folder)
        self._journal = Journal(self.folder, self._tables, lock=lock)
        self._journal.reload = self._reload
        try:
            with self._mutex:
                self._journal.locked(fcntl.LOCK_EX, self._reload)
        except BaseException:
            self._journal.close()
            raise
        self._compactor: compaction.Compactor | None = None
        if background_compaction:
            self._compactor = compaction.Compactor(
                self._compact_and_shrink, self._compaction_due, self._is_closed
            )

    @property
    def recovered(self) -> list[str]:
        """What recovery had to do since this storage was opened, in words (no paths)."""
        return self._journal.recovered

    # ---------------------------------------------------------------------------------
    # TinyDB's Storage interface

    def read(self) -> dict[str, dict[str, Any]] | None:
        """The live database (every table parsed); a top-level copy so callers may drop keys."""
        with self.reading():
            for name in list(self._tables.raw):
                self._tables.materialize(name)
            return dict(self._tables.live)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Generic path for callers that bypass ``JournaledTable``: journals tables that are new objects.

        ``JournaledTinyDB`` never calls it for documents; it costs O(size of the replaced tables).
        """
        with self.transaction():
            for name in list(self.table_names()):
                if name not in data:
                    self.drop_table(name)
            for name, table in data.items():
                if self._tables.live.get(name) is table:
                    continue
                items = [(str(k), v) for k, v in table.items()]

                def replace(view: MutableMapping[Any, Doc], items: list[tuple[str, Any]] = items) -> None:
                    view.clear()
                    for key, doc in items:
                        view[key] = doc

                self.update_table(name, replace, str)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.stop()
        with self._mutex:
            self._journal.close()

    # ---------------------------------------------------------------------------------
    # Used by JournaledTable, JournaledTinyDB and SessionStore

    def add_listener(self, listener: Listener) -> None:
        """``listener`` hears of every change, local or another process's (see ``Listener``)."""
        self._tables.listeners.append(listener)

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Holds the in-process lock and catches up with other processes' commits first."""
        return _Reading(self)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Groups writes into one journal line and one fsync; all or nothing. Reentrant (inner
        blocks are savepoints: an exception rolls back just that block)."""
        return _Transaction(self)

    def table_names(self) -> set[str]:
        with self.reading():
            return self._tables.names()

    def read_table(self, name: str) -> dict[str, Doc]:
        """The live documents of one table (do not mutate); ``{}`` when the table does not exist."""
        with self.reading():
            return self._tables.materialize(name)

    def peek_table(self, name: str) -> dict[str, Doc]:
        """Like :meth:`read_table` without catching up (the caller already did, under ``reading()``)."""
        return self._tables.materialize(name)

    def raw_table(self, name: str) -> bytes | None:
        """The table's JSON exactly as in the snapshot, while it is unchanged since (else None).

        Lets callers scan a table (e.g. a search pre-filter) without parsing it.
        """
        return self._tables.raw.get(name)

    def has_table(self, name: str) -> bool:
        with self.reading():
            return self._tables.has(name)

    def table_version(self, name: str) -> tuple[int, int]:
        with self.reading():
            return (self._tables.epoch, self._tables.versions.get(name, 0))

    def next_id(self, name: str) -> int:
        with self._mutex:
            return self._tables.next_id(name)

    def update_table(self, name: str, updater: Callable[[Any], None], id_class: Callable[[str], Any]) -> None:
        with self.transaction():
            view = UpdateView(self._tables, name, id_class)
            try:
                updater(view)
            except BaseException:
                view.rollback()
                self._tables.bump(name)
                raise
            self._changes.record_view(view, normalize=self.normalize_documents)

    def drop_table(self, name: str) -> None:
        with self.transaction():
            if self._tables.has(name):
                self._changes.record_drop(name)

    def drop_all(self) -> None:
        with self.transaction():
            for name in sorted(self._tables.names()):
                self.drop_table(name)

    def bytes_on_disk(self) -> int:
        """Bytes the quota counts: the snapshot and the journal (backups are not the learner's data)."""
        with self.reading():
            return self._journal.size_on_disk()

    def compact(self) -> None:
        """Writes a fresh snapshot now (a no-op when the journal is empty)."""
        with self._mutex:
            self._check_open()
            if self._tx_depth:
                raise RuntimeError("cannot compact inside a transaction")
            self._journal.flock(fcntl.LOCK_EX)
            try:
                self._journal.sync_locked()
                compaction.compact_locked(self._journal, self._tables)
            finally:
                self._journal.unflock()

    def reclaim(self) -> bool:
        """Compacts when that would give space back (used before refusing a write over the quota)."""
        with self.reading():
            worth_it = self._journal.offset > 4096
        if worth_it:
            self.compact()
        return worth_it

    def shrink_backups(self) -> None:
        """Gzips the previous snapshot and journal (read only when recovering)."""
        compaction.shrink_backups(self._journal, self._mutex, self._is_closed)

    # ---------------------------------------------------------------------------------
    # Internals

    def _is_closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("The session store is closed.")

    def _reload(self) -> None:
        recovery.load(self._journal, self._tables)

    def _compaction_due(self) -> bool:
        with self._mutex:
            return not self._closed and self._journal.offset > compaction.threshold(
                self._journal, self.compact_bytes
            )

    def _compact_and_shrink(self) -> None:
        self.compact()
        self.shrink_backups()

    def _commit(self) -> None:
        changes = self._changes
        if not changes.ops:
            return
        line = changes.line()
        if (
            self.quota_bytes is not None
            and changes.needs_space
            and self._journal.size_on_disk() + len(line) > self.quota_bytes
        ):
            changes.rollback_to(0, 0)
            raise QuotaExceeded(
                "The session store is full: this change would pass its quota of "
                f"{self.quota_bytes} bytes. Delete or export old sessions to make room."
            )
        try:
            self._journal.append(line)
        except OSError as exc:
            changes.rollback_to(0, 0)
            log.warning("store write failed: %s", files.describe_os_error(exc))
            raise files.store_error(exc) from exc
        changes.reset()

    def _after_commit(self) -> None:
        if self._journal.offset <= compaction.threshold(self._journal, self.compact_bytes):
            return
        if self._compactor is not None:
            self._compactor.request()
        else:
            compaction.compact_quietly(self._compact_and_shrink, self._is_closed)


class _Reading:
    """``storage.reading()`` (a class, not a generator: it runs several times per operation)."""

    __slots__ = ("storage",)

    def __init__(self, storage: JournaledStorage) -> None:
        self.storage = storage

    def __enter__(self) -> None:
        storage = self.storage
        storage._mutex.acquire()
        try:
            storage._check_open()
            if storage._tx_depth == 0:
                storage._journal.catch_up()
        except BaseException:
            storage._mutex.release()
            raise

    def __exit__(self, *exc: object) -> None:
        self.storage._mutex.release()


class _Transaction:
    """``storage.transaction()``: the outermost one locks, catches up, and commits or rolls back."""

    __slots__ = ("outer", "savepoint", "storage")

    def __init__(self, storage: JournaledStorage) -> None:
        self.storage = storage
        self.outer = False
        self.savepoint = (0, 0)

    def __enter__(self) -> None:
        storage = self.storage
        storage._mutex.acquire()
        try:
            storage._check_open()
            self.outer = storage._tx_depth == 0
            if self.outer:
                storage._journal.flock(fcntl.LOCK_EX)
                try:
                    storage._journal.sync_locked()
                except BaseException:
                    storage._journal.unflock()
                    raise
                storage._changes.reset()
            self.savepoint = storage._changes.savepoint()
            storage._tx_depth += 1
        except BaseException:
            storage._mutex.release()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        storage = self.storage
        try:
            storage._tx_depth -= 1
            if exc_type is not None:
                try:
                    storage._changes.rollback_to(*self.savepoint)
                finally:
                    if self.outer:
                        storage._journal.unflock()
                return
            if self.outer:
                try:
                    storage._commit()
                finally:
                    storage._journal.unflock()
                storage._after_commit()
        finally:
            storage._mutex.release()
