"""A durable, fast, multi-process TinyDB storage.

TinyDB's own ``JSONStorage`` rewrites the whole file on every write, overwrites it in place and has
no lock.
This storage keeps the database in memory and makes each committed write one checksummed line
appended to a
journal (one ``fsync``), over a snapshot that is only ever replaced atomically:

* ``snapshot.jsonl``: a header line, then one line per table (``<crc> <name>\\t<table JSON>``).
  Tables are
  parsed lazily, the first time they are used, so opening a large store costs a checksum pass, not a
  parse.
* ``journal.jsonl``: a header naming the snapshot generation it applies to, then one line per commit
  with its
  operations (``put``/``del``/``clear``/``drop``).
* Compaction (in a background thread once the journal is large) writes the next snapshot, keeps the
  previous
  one as ``snapshot.jsonl.bak`` and the previous journal as ``journal.jsonl.prev``, and starts a new
  journal.
* Every commit holds an exclusive ``flock`` on ``store.lock``; other processes (the Jupyter server
  and its
  kernels) pick up each other's lines incrementally, and follow compactions without a full reload.

``JournaledTable`` is the ``table_class`` that makes TinyDB's updates cheap: instead of converting
the whole
table for each write it hands the updater a small view that records what changed, and only those
documents
are journaled.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import logging
import marshal
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from tutornb.errors import QuotaExceeded, StoreError
from tutornb.store import files
from tutornb.store.files import (
    JOURNAL,
    JOURNAL_PREV,
    LOCK,
    SNAPSHOT,
    SNAPSHOT_BAK,
    Damaged,
    dumps,
    to_bytes,
)

log = logging.getLogger("tutornb.store")

Doc = dict[str, Any]
#: ``listener(table, doc_key, old, new)``: one document changed (``old``/``new`` None when absent),
#: or
#: ``doc_key`` None: the whole table changed, or ``table`` None: everything was reloaded.
Listener = Callable[[str | None, str | None, Doc | None, Doc | None], None]

_ABSENT: Any = object()
#: Journal lines are appended; compaction starts once the journal passes this size (or 1/8 of the
#: snapshot).
DEFAULT_COMPACT_BYTES = 1 << 20
MAX_COMPACT_BYTES = 8 << 20


def _freeze(doc: Any) -> Any:
    """A cheap exact pre-image of a document, to detect in-place changes and undo them."""
    try:
        return marshal.dumps(doc, 2)
    except ValueError:
        return _Deep(copy.deepcopy(doc))


def _thaw(image: Any) -> Any:
    if isinstance(image, bytes):
        # Only ever our own in-memory pre-images, never data read from disk.
        return marshal.loads(image)  # noqa: S302
    return copy.deepcopy(cast(_Deep, image).value)


def _changed(doc: Any, image: Any) -> bool:
    if isinstance(image, bytes):
        try:
            return marshal.dumps(doc, 2) != image
        except ValueError:
            return True
    return bool(doc != cast(_Deep, image).value)


class _Deep:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _UpdateView(MutableMapping[Any, Doc]):
    """What a TinyDB updater sees instead of a converted copy of the whole table.

    Keys are the table's document ids (ints); the live table underneath is keyed by strings, as on
    disk.
    The view records the first pre-image of every document it hands out, sets or deletes, so the
    storage can
    journal just those and undo them if anything fails.
    """

    def __init__(self, storage: JournaledStorage, name: str, id_class: Callable[[str], Any]) -> None:
        self.storage = storage
        self.name = name
        self.id_class = id_class
        self.existed = storage._has_table(name)
        self.raw_before = storage._raw.get(name)
        self.docs = storage._table_for_write(name)
        #: key -> ("read", frozen image) or ("obj", previous object or _ABSENT)
        self.pre: dict[str, tuple[str, Any]] = {}
        self.written: set[str] = set()
        self.cleared_from: dict[str, Doc] | None = None

    def __getitem__(self, doc_id: Any) -> Doc:
        key = str(doc_id)
        try:
            doc = self.docs[key]
        except KeyError:
            raise KeyError(doc_id) from None
        if key not in self.pre:
            self.pre[key] = ("read", _freeze(doc))
        return doc

    def __setitem__(self, doc_id: Any, doc: Doc) -> None:
        key = str(doc_id)
        if key not in self.pre:
            self.pre[key] = ("obj", self.docs.get(key, _ABSENT))
        self.docs[key] = doc
        self.written.add(key)

    def __delitem__(self, doc_id: Any) -> None:
        key = str(doc_id)
        if key not in self.docs:
            raise KeyError(doc_id)
        if key not in self.pre:
            self.pre[key] = ("obj", self.docs[key])
        del self.docs[key]
        self.written.add(key)

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self.docs

    def __iter__(self) -> Iterator[Any]:
        return iter([self.id_class(key) for key in list(self.docs)])

    def __len__(self) -> int:
        return len(self.docs)

    def pop(self, doc_id: Any, *default: Any) -> Any:
        key = str(doc_id)
        if key in self.docs:
            doc = self.docs[key]
            del self[doc_id]
            return doc
        if default:
            return default[0]
        raise KeyError(doc_id)

    def clear(self) -> None:
        if self.cleared_from is None:
            before = dict(self.docs)
            for key, (kind, image) in self.pre.items():
                old = _thaw(image) if kind == "read" else image
                if old is _ABSENT:
                    before.pop(key, None)
                else:
                    before[key] = old
            self.cleared_from = before
        self.docs = self.storage._replace_table_dict(self.name)
        self.pre = {}
        self.written = set()

    def previous(self, key: str) -> Any:
        kind, image = self.pre[key]
        return _thaw(image) if kind == "read" else image

    def rollback(self) -> None:
        """Undoes what the updater did before it raised (nothing was journaled yet)."""
        if self.cleared_from is not None:
            self.storage._restore_table(
                self.name, self.cleared_from if self.existed else None, self.raw_before
            )
            return
        for key in self.pre:
            old = self.previous(key)
            if old is _ABSENT:
                self.docs.pop(key, None)
            else:
                self.docs[key] = old
        if not self.existed:
            self.storage._restore_table(self.name, None, None)


class JournaledStorage(Storage):
    """The TinyDB storage. ``path`` is the store folder (created private: 0700, files 0600)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        quota_bytes: int | None = None,
        compact_bytes: int = DEFAULT_COMPACT_BYTES,
        background_compaction: bool = True,
        lock: bool = True,
        normalize_documents: bool = True,
    ) -> None:
        self.folder = Path(path)
        # Plain strings: these are stat'ed on every operation, and building Paths costs more than
        # that.
        self._journal_path = str(self.folder / JOURNAL)
        self._snapshot_path = str(self.folder / SNAPSHOT)
        self.quota_bytes = quota_bytes
        self.compact_bytes = compact_bytes
        #: Re-read each written document from its JSON, so memory never holds a tuple where disk
        #: has a list. A caller writing only JSON-clean, freshly built documents may turn it off.
        self.normalize_documents = normalize_documents
        #: Only the negative control of the reliability tests turns this off.
        self._use_flock = lock
        self.recovered: list[str] = []
        self._mutex = threading.RLock()
        self._listeners: list[Listener] = []
        self._live: dict[str, dict[str, Doc]] = {}
        self._raw: dict[str, bytes] = {}
        self._max_ids: dict[str, int] = {}
        self._versions: dict[str, int] = {}
        self._epoch = 0
        self._counter = 0
        self._gen = 0
        self._jfd = -1
        self._jino = 0
        self._joff = 0
        self._snap_ino = 0
        self._snap_size = 0
        self._broken = False
        self._closed = False
        self._flock_mode = 0
        self._tx_depth = 0
        self._ops: list[str] = []
        self._ops_need_space = False
        self._undo: list[tuple[Any, ...]] = []
        self._touched: set[tuple[str, str]] = set()
        files.ensure_private_dir(self.folder)
        self._lockfd = files.open_private(self.folder / LOCK, os.O_RDWR | os.O_CREAT)
        try:
            with self._mutex:
                self._flock(fcntl.LOCK_EX)
                try:
                    self._load()
                finally:
                    self._unflock()
        except BaseException:
            self._close_fds()
            raise
        self._compact_wanted = threading.Event()
        self._compactor: threading.Thread | None = None
        if background_compaction:
            self._compactor = threading.Thread(
                target=self._compaction_loop, name="tutornb-store-compaction", daemon=True
            )
            self._compactor.start()
        self._background = background_compaction

    # ---------------------------------------------------------------------------------
    # TinyDB's Storage interface

    def read(self) -> dict[str, dict[str, Any]] | None:
        """The live database (every table parsed); a top-level copy so callers may drop keys from
        it."""
        with self.reading():
            for name in list(self._raw):
                self._materialize(name)
            return dict(self._live)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Generic path for callers that bypass ``JournaledTable``: journals tables that are new
        objects.

        ``JournaledTinyDB`` never calls it for documents; it costs O(size of the replaced tables).
        """
        with self.transaction():
            for name in list(self.table_names()):
                if name not in data:
                    self.drop_table(name)
            for name, table in data.items():
                if self._live.get(name) is table:
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
        if getattr(self, "_compactor", None) is not None:
            self._compact_wanted.set()
            assert self._compactor is not None
            self._compactor.join(timeout=30)
        with self._mutex:
            self._close_fds()

    def _close_fds(self) -> None:
        for attr in ("_jfd", "_lockfd"):
            fd = getattr(self, attr, -1)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, -1)

    # ---------------------------------------------------------------------------------
    # Public helpers used by JournaledTable, JournaledTinyDB and SessionStore

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Holds the in-process lock and catches up with other processes' commits first."""
        return _Reading(self)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Groups writes into one journal line and one fsync; all or nothing. Reentrant (inner
        blocks are savepoints: an exception rolls back just that block)."""
        return _Transaction(self)

    def table_names(self) -> set[str]:
        with self.reading():
            return set(self._live) | set(self._raw)

    def read_table(self, name: str) -> dict[str, Doc]:
        """The live documents of one table (do not mutate); ``{}`` when the table does not exist."""
        with self.reading():
            return self._materialize(name)

    def peek_table(self, name: str) -> dict[str, Doc]:
        """Like :meth:`read_table` without catching up (the caller already did, under
        ``reading()``)."""
        return self._materialize(name)

    def raw_table(self, name: str) -> bytes | None:
        """The table's JSON exactly as in the snapshot, while it is unchanged since (else None).

        Lets callers scan a table (e.g. a search pre-filter) without parsing it.
        """
        return self._raw.get(name)

    def has_table(self, name: str) -> bool:
        with self.reading():
            return self._has_table(name)

    def table_version(self, name: str) -> tuple[int, int]:
        with self.reading():
            return (self._epoch, self._versions.get(name, 0))

    def next_id(self, name: str) -> int:
        with self._mutex:
            current = self._max_ids.get(name)
            if current is None:
                docs = self._materialize(name)
                current = max((int(k) for k in docs if k.isdigit()), default=0)
            current += 1
            self._max_ids[name] = current
            return current

    def update_table(self, name: str, updater: Callable[[Any], None], id_class: Callable[[str], Any]) -> None:
        with self.transaction():
            view = _UpdateView(self, name, id_class)
            try:
                updater(view)
            except BaseException:
                view.rollback()
                self._bump(name)
                raise
            self._record_view(view)

    def drop_table(self, name: str) -> None:
        with self.transaction():
            if not self._has_table(name):
                return
            self._undo.append(("table", name, self._live.get(name), self._raw.get(name)))
            self._live.pop(name, None)
            self._raw.pop(name, None)
            self._max_ids.pop(name, None)
            self._ops.append(f'["drop",{dumps(name)}]')
            self._bump(name)
            self._notify(name, None, None, None)

    def drop_all(self) -> None:
        with self.transaction():
            for name in sorted(set(self._live) | set(self._raw)):
                self.drop_table(name)

    def bytes_on_disk(self) -> int:
        """Bytes the quota counts: the snapshot and the journal (backups are not the learner's
        data)."""
        with self.reading():
            return self._snap_size + self._joff

    def compact(self) -> bool:
        """Writes a fresh snapshot now; returns False when another process compacted meanwhile."""
        with self._mutex:
            self._check_open()
            if self._tx_depth:
                raise RuntimeError("cannot compact inside a transaction")
            self._flock(fcntl.LOCK_EX)
            try:
                self._sync_locked()
                self._compact_locked()
            finally:
                self._unflock()
        return True

    def reclaim(self) -> bool:
        """Compacts when that would give space back (used before refusing a write over the
        quota)."""
        with self.reading():
            worth_it = self._joff > 4096
        if worth_it:
            self.compact()
        return worth_it

    # ---------------------------------------------------------------------------------
    # Locking

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("The session store is closed.")

    def _flock(self, mode: int) -> None:
        if self._use_flock:
            fcntl.flock(self._lockfd, mode)
        self._flock_mode = mode

    def _unflock(self) -> None:
        if self._use_flock and self._lockfd >= 0:
            fcntl.flock(self._lockfd, fcntl.LOCK_UN)
        self._flock_mode = 0

    # ---------------------------------------------------------------------------------
    # Table state

    def _has_table(self, name: str) -> bool:
        return name in self._live or name in self._raw

    def _materialize(self, name: str) -> dict[str, Doc]:
        docs = self._live.get(name)
        if docs is not None:
            return docs
        raw = self._raw.get(name)
        if raw is None:
            return {}
        try:
            docs = json.loads(raw)
        except ValueError as exc:  # the checksum passed, so this is a bug, not a torn write
            raise StoreError("The session store holds an unreadable table.") from exc
        if not isinstance(docs, dict):
            raise StoreError("The session store holds an unreadable table.")
        self._live[name] = docs
        return docs

    def _table_for_write(self, name: str) -> dict[str, Doc]:
        if self._has_table(name):
            return self._materialize(name)
        docs: dict[str, Doc] = {}
        self._live[name] = docs
        return docs

    def _replace_table_dict(self, name: str) -> dict[str, Doc]:
        docs: dict[str, Doc] = {}
        self._live[name] = docs
        self._max_ids[name] = 0
        return docs

    def _restore_table(self, name: str, docs: dict[str, Doc] | None, raw: bytes | None) -> None:
        if docs is None:
            self._live.pop(name, None)
        else:
            self._live[name] = docs
        if raw is None:
            self._raw.pop(name, None)
        else:
            self._raw[name] = raw
        self._max_ids.pop(name, None)

    def _bump(self, name: str) -> None:
        self._counter += 1
        self._versions[name] = self._counter

    def _notify(self, table: str | None, key: str | None, old: Doc | None, new: Doc | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(table, key, old, new)
            except Exception:  # a listener bug must never break durability
                log.exception("store listener failed")

    # ---------------------------------------------------------------------------------
    # Local changes

    def _record_view(self, view: _UpdateView) -> None:
        name = view.name
        name_json = dumps(name)
        ops = self._ops
        changes: list[tuple[str, Any, Any]] = []
        if view.cleared_from is not None:
            self._undo.append(("table", name, view.cleared_from if view.existed else None, view.raw_before))
            ops.append(f'["clear",{name_json}]')
            changes = [(key, _ABSENT, view.docs[key]) for key in view.docs]
            table_reset = True
        else:
            table_reset = False
            for key, (_kind, image) in view.pre.items():
                current = view.docs.get(key, _ABSENT)
                if key in view.written:
                    old = view.previous(key)
                    if current is _ABSENT and old is _ABSENT:
                        continue
                    changes.append((key, old, current))
                elif current is not _ABSENT and _changed(current, image):
                    changes.append((key, _thaw(image), current))
            if not view.existed:
                self._undo.append(("table", name, None, None))
                ops.append(f'["clear",{name_json}]')
        if not changes and not table_reset and view.existed:
            return
        self._raw.pop(name, None)
        max_id = self._max_ids.get(name)
        for key, old, new in changes:
            if not table_reset and (name, key) not in self._touched:
                self._undo.append(("doc", name, key, old))
            self._touched.add((name, key))
            key_json = dumps(key)
            if new is _ABSENT:
                view.docs.pop(key, None)
                ops.append(f'["del",{name_json},{key_json}]')
                continue
            # An unserializable document raises TypeError like TinyDB's own storage (the undo entry
            # above makes the enclosing transaction put everything back).
            encoded = dumps(new)
            if self.normalize_documents:
                # Keep in memory exactly what other processes and a reopen will read back.
                view.docs[key] = json.loads(encoded)
            ops.append(f'["put",{name_json},{key_json},{encoded}]')
            self._ops_need_space = True
            if max_id is not None and key.isdigit() and int(key) > max_id:
                max_id = int(key)
        if max_id is not None:
            self._max_ids[name] = max_id
        self._bump(name)
        if table_reset:
            self._notify(name, None, None, None)
        else:
            for key, old, new in changes:
                self._notify(
                    name,
                    key,
                    None if old is _ABSENT else old,
                    None if new is _ABSENT else view.docs.get(key),
                )

    def _rollback_to(self, ops_len: int, undo_len: int) -> None:
        touched_tables: set[str] = set()
        while len(self._undo) > undo_len:
            entry = self._undo.pop()
            if entry[0] == "doc":
                _, name, key, old = entry
                docs = self._live.get(name)
                if docs is None:
                    docs = self._table_for_write(name)
                if old is _ABSENT:
                    docs.pop(key, None)
                else:
                    docs[key] = old
                self._touched.discard((name, key))
            else:
                _, name, docs_before, raw_before = entry
                self._restore_table(name, docs_before, raw_before)
            touched_tables.add(name)
            self._max_ids.pop(name, None)
        del self._ops[ops_len:]
        for name in touched_tables:
            self._bump(name)
            self._notify(name, None, None, None)

    def _commit(self) -> None:
        if not self._ops:
            return
        line = files.frame(to_bytes("[" + ",".join(self._ops) + "]"))
        if (
            self.quota_bytes is not None
            and self._ops_need_space
            and self._snap_size + self._joff + len(line) > self.quota_bytes
        ):
            self._rollback_to(0, 0)
            raise QuotaExceeded(
                "The session store is full: this change would pass its quota of "
                f"{self.quota_bytes} bytes. Delete or export old sessions to make room."
            )
        start = self._joff
        try:
            # ``_sync_locked`` (at the start of this transaction, under the same lock) left the
            # journal exactly ``start`` bytes long: a crashed writer's torn line was cut there.
            files.write_all(self._jfd, line)
            os.fsync(self._jfd)
        except OSError as exc:
            self._rollback_to(0, 0)
            try:
                os.ftruncate(self._jfd, start)
                os.fsync(self._jfd)
            except OSError:
                # We cannot tell what is on disk any more: reload before the next operation.
                self._broken = True
            log.warning("store write failed: %s", files.describe_os_error(exc))
            raise files.store_error(exc) from exc
        self._joff = start + len(line)
        self._ops = []
        self._undo = []
        self._touched = set()

    def _after_commit(self) -> None:
        if self._joff <= self._compact_threshold():
            return
        if self._background:
            self._compact_wanted.set()
        else:
            self._compact_quietly()

    def _compact_threshold(self) -> int:
        return max(self.compact_bytes, min(self._snap_size // 8, MAX_COMPACT_BYTES))

    def _compact_quietly(self) -> None:
        """Compaction after an acknowledged commit: a failure is logged, never reported to that
        caller."""
        if self._closed:
            return
        try:
            self.compact()
        except (OSError, StoreError) as exc:
            if not self._closed:
                log.warning("store compaction failed (will retry): %s", exc)
            return
        self.shrink_backups()

    def shrink_backups(self) -> None:
        """Gzips the previous snapshot and journal (read only when recovering): a smaller footprint.

        The compression runs outside every lock; the swap happens under the store lock, and only if
        no
        compaction replaced the file meanwhile.
        """
        for name in (SNAPSHOT_BAK, JOURNAL_PREV):
            path = self.folder / name
            tmp = self.folder / f"{name}.gz.tmp"
            try:
                with open(path, "rb") as handle:
                    ino = os.fstat(handle.fileno()).st_ino
                    data = handle.read()
                if data.startswith(files.GZIP_MAGIC) or len(data) < 4096:
                    continue
                files.write_file_synced(tmp, zlib.compress(data, 1, wbits=31))
            except OSError:
                continue
            with self._mutex:
                if self._closed:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    return
                self._flock(fcntl.LOCK_EX)
                try:
                    if os.stat(path).st_ino == ino:
                        os.replace(tmp, path)
                        files.fsync_dir(self.folder)
                    else:
                        os.unlink(tmp)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                finally:
                    self._unflock()

    def _compaction_loop(self) -> None:
        while not self._closed:
            self._compact_wanted.wait()
            self._compact_wanted.clear()
            if self._closed:
                return
            with self._mutex:
                if self._closed or self._joff <= self._compact_threshold():
                    continue
            self._compact_quietly()

    # ---------------------------------------------------------------------------------
    # Catching up with other processes

    def _catch_up(self) -> None:
        """Cheap when nothing changed: one ``stat`` of the journal."""
        if self._broken:
            self._locked(fcntl.LOCK_EX, self._sync_locked)
            return
        try:
            st = os.stat(self._journal_path)
        except FileNotFoundError:
            self._locked(fcntl.LOCK_EX, self._sync_locked)
            return
        if st.st_ino == self._jino and st.st_size == self._joff:
            return
        if self._locked(fcntl.LOCK_SH, self._sync_shared):
            return
        self._locked(fcntl.LOCK_EX, self._sync_locked)

    def _locked(self, mode: int, fn: Callable[[], Any]) -> Any:
        self._flock(mode)
        try:
            return fn()
        finally:
            self._unflock()

    def _sync_shared(self) -> bool:
        """Under a shared lock no commit is in flight: every complete line is committed."""
        st = os.stat(self._journal_path)
        if st.st_ino != self._jino:
            return self._follow_rotation()
        if st.st_size > self._joff:
            return self._read_new_lines(self._jfd, self._joff, st.st_size, fix=False)
        return st.st_size == self._joff

    def _sync_locked(self) -> None:
        """Under the exclusive lock: catch up, or reload (recovering) whenever anything is
        unexpected."""
        if self._broken:
            self._load()
            return
        try:
            st_j = os.stat(self._journal_path)
            st_s = os.stat(self._snapshot_path)
        except FileNotFoundError:
            self._load()
            return
        if st_s.st_ino != self._snap_ino or st_j.st_ino != self._jino:
            if not self._follow_rotation():
                self._load()
            return
        if st_j.st_size > self._joff:
            if not self._read_new_lines(self._jfd, self._joff, st_j.st_size, fix=True):
                self._load()
        elif st_j.st_size < self._joff:
            self._note("the journal was shorter than expected; reloaded the store")
            self._load()

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
                self._joff = start + pos
                return False
            try:
                ops = json.loads(payload)
            except ValueError:
                self._joff = start + pos
                return False
            self._apply_ops(ops, notify=True)
            pos = nl + 1
        self._joff = start + pos
        if fix and pos < size:
            # Under the exclusive lock nobody is writing: what follows the last good line is torn.
            os.ftruncate(fd, self._joff)
        return True

    def _follow_rotation(self) -> bool:
        """Another process compacted: finish our journal, then continue in the new one (no
        reload)."""
        try:
            old_size = os.fstat(self._jfd).st_size
            if old_size > self._joff and not self._read_new_lines(self._jfd, self._joff, old_size, fix=False):
                return False
            prev = os.stat(self.folder / JOURNAL_PREV)
            if prev.st_ino != self._jino:
                return False
            fd = os.open(self.folder / JOURNAL, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            st = os.fstat(fd)
            head = os.pread(fd, 4096, 0)
            first = head.find(b"\n")
            if first < 0:
                raise Damaged("journal header")
            read = files.read_journal(head[: first + 1])
            if read.header_damaged or read.generation != self._gen + 1:
                raise Damaged("journal generation")
            snap_fd = os.open(self.folder / SNAPSHOT, os.O_RDONLY | os.O_CLOEXEC)
            try:
                snap_st = os.fstat(snap_fd)
                if files.snapshot_generation(os.pread(snap_fd, 4096, 0)) != self._gen + 1:
                    raise Damaged("snapshot generation")
            finally:
                os.close(snap_fd)
        except (OSError, Damaged):
            os.close(fd)
            return False
        os.close(self._jfd)
        self._jfd = fd
        self._jino = st.st_ino
        self._joff = first + 1
        self._gen += 1
        self._snap_ino = snap_st.st_ino
        self._snap_size = snap_st.st_size
        if st.st_size > self._joff:
            return self._read_new_lines(fd, self._joff, st.st_size, fix=False)
        return True

    def _apply_ops(self, ops: Iterable[Any], *, notify: bool) -> None:
        """Applies a journal entry (another process's commit, or replay on open)."""
        for op in ops:
            kind = op[0]
            name = op[1]
            if kind == "put":
                key, doc = op[2], op[3]
                docs = self._table_for_write(name)
                old = docs.get(key)
                docs[key] = doc
                self._raw.pop(name, None)
                current = self._max_ids.get(name)
                if current is not None and key.isdigit() and int(key) > current:
                    self._max_ids[name] = int(key)
                if notify:
                    self._notify(name, key, old, doc)
            elif kind == "del":
                key = op[2]
                docs = self._table_for_write(name)
                old = docs.pop(key, None)
                self._raw.pop(name, None)
                if notify and old is not None:
                    self._notify(name, key, old, None)
            elif kind == "clear":
                self._live[name] = {}
                self._raw.pop(name, None)
                self._max_ids[name] = 0
                if notify:
                    self._notify(name, None, None, None)
            elif kind == "drop":
                self._live.pop(name, None)
                self._raw.pop(name, None)
                self._max_ids.pop(name, None)
                if notify:
                    self._notify(name, None, None, None)
            else:
                raise Damaged(f"unknown journal operation {kind!r}")
            self._bump(name)

    # ---------------------------------------------------------------------------------
    # Opening, recovery and compaction (always under the exclusive lock)

    def _note(self, message: str) -> None:
        log.warning("store recovery: %s", message)
        self.recovered.append(message)

    def _load(self) -> None:
        folder = self.folder
        notes: list[str] = []
        snap_data = files.read_bytes(folder / SNAPSHOT)
        journal_data = files.read_bytes(folder / JOURNAL)
        if snap_data is None and journal_data is None and not (folder / SNAPSHOT_BAK).exists():
            self._initialize()
            return
        base_gen: int | None = None
        tables: dict[str, bytes] = {}
        used_backup = False
        try:
            if snap_data is None:
                raise Damaged("snapshot is missing")
            base_gen, tables = files.decode_snapshot(snap_data)
        except Damaged as damage:
            moved = files.move_aside(folder, SNAPSHOT)
            where = f"; moved aside as {moved}" if moved else ""
            try:
                bak = files.read_backup(folder / SNAPSHOT_BAK)
                if bak is None:
                    raise Damaged("no backup") from None
                base_gen, tables = files.decode_snapshot(bak)
                used_backup = True
                notes.append(
                    f"{SNAPSHOT} was damaged ({damage}){where}; recovered from {SNAPSHOT_BAK} "
                    "and the journals"
                )
            except Damaged as bak_damage:
                notes.append(
                    f"{SNAPSHOT} was damaged ({damage}){where} and the backup was unusable "
                    f"({bak_damage}); recovered what the journals hold"
                )
        prev_read = None
        if used_backup or base_gen is None:
            # The previous journal only matters when the current snapshot could not be used.
            try:
                prev_data = files.read_backup(folder / JOURNAL_PREV)
            except Damaged:
                prev_data = None
            if prev_data is not None:
                prev_read = files.read_journal(prev_data)
        cur_read = files.read_journal(journal_data) if journal_data is not None else None
        if base_gen is None:
            candidates = [r.generation for r in (prev_read, cur_read) if r and r.generation is not None]
            base_gen = min(candidates) if candidates else 0
            tables = {}
        # Install the base state, then replay the journals that continue it, in order.
        self._live = {}
        self._raw = dict(tables)
        self._max_ids = {}
        gen = base_gen
        base_is_snapshot = snap_data is not None and not used_backup and not notes
        # The previous journal is already inside the current snapshot; it only matters when
        # recovering
        # from the backup (or from nothing), which is one generation older.
        if prev_read is not None and prev_read.generation == gen and not base_is_snapshot:
            self._replay(prev_read, notes, JOURNAL_PREV)
            gen += 1
        need_fresh_journal = False
        if cur_read is None:
            if snap_data is not None and not used_backup and base_gen > 0:
                notes.append(f"{JOURNAL} was missing; started a new one")
            need_fresh_journal = True
        elif cur_read.header_damaged:
            moved = files.copy_aside(folder, JOURNAL)
            notes.append(f"{JOURNAL} had a damaged header; kept a copy as {moved} and replayed its entries")
            self._replay(cur_read, notes, JOURNAL)
            need_fresh_journal = True
        elif cur_read.generation == gen:
            self._replay(cur_read, notes, JOURNAL)
            if cur_read.damaged_lines:
                moved = files.copy_aside(folder, JOURNAL)
                notes.append(
                    f"{JOURNAL} had {cur_read.damaged_lines} damaged entr"
                    f"{'y' if cur_read.damaged_lines == 1 else 'ies'}, skipped; kept a copy "
                    f"as {moved}"
                )
                need_fresh_journal = True
        elif cur_read.generation is not None and cur_read.generation < gen:
            # A crash between replacing the snapshot and the journal: the journal is already
            # included.
            need_fresh_journal = True
        else:
            moved = files.copy_aside(folder, JOURNAL)
            notes.append(
                f"{JOURNAL} did not continue the snapshot (generation {cur_read.generation}, "
                f"expected {gen}); replayed it anyway and kept a copy as {moved}"
            )
            self._replay(cur_read, notes, JOURNAL)
            need_fresh_journal = True
        self._gen = gen
        self._epoch += 1
        self._versions = {}
        self._broken = False
        for note in notes:
            self._note(note)
        if notes or used_backup or (need_fresh_journal and snap_data is None):
            # Make the store healthy again at once: a fresh snapshot (also as the backup) and
            # journal.
            self._write_generation(gen + 1, backup_copy=True)
        elif need_fresh_journal:
            self._open_fresh_journal(gen)
        else:
            assert cur_read is not None
            self._open_journal(cur_read)
        self._notify(None, None, None, None)

    def _replay(self, read: files.JournalRead, notes: list[str], label: str) -> None:
        for _, payload in read.entries:
            try:
                ops = json.loads(payload)
                self._apply_ops(ops, notify=False)
            except (ValueError, TypeError, IndexError, KeyError, Damaged):
                notes.append(f"{label} held an unreadable entry; skipped it")

    def _initialize(self) -> None:
        files.atomic_write(self.folder, SNAPSHOT, files.snapshot_header(0, 0))
        files.atomic_write(self.folder, JOURNAL, files.journal_header(0))
        self._live = {}
        self._raw = {}
        self._max_ids = {}
        self._gen = 0
        self._epoch += 1
        self._versions = {}
        self._broken = False
        self._reopen_files()
        self._notify(None, None, None, None)

    def _open_fresh_journal(self, gen: int) -> None:
        files.atomic_write(self.folder, JOURNAL, files.journal_header(gen))
        self._reopen_files()

    def _open_journal(self, read: files.JournalRead) -> None:
        self._reopen_files()
        if read.torn or os.fstat(self._jfd).st_size != read.valid_end:
            os.ftruncate(self._jfd, read.valid_end)
            os.fsync(self._jfd)
        self._joff = read.valid_end

    def _reopen_files(self) -> None:
        if self._jfd >= 0:
            os.close(self._jfd)
            self._jfd = -1
        fd = files.open_private(self.folder / JOURNAL, os.O_RDWR | os.O_APPEND)
        self._jfd = fd
        st = os.fstat(fd)
        self._jino = st.st_ino
        head = os.pread(fd, 4096, 0)
        self._joff = head.find(b"\n") + 1
        snap = os.stat(self._snapshot_path)
        self._snap_ino = snap.st_ino
        self._snap_size = snap.st_size

    def _encode_snapshot(self, gen: int) -> bytes:
        names = sorted(set(self._live) | set(self._raw))
        parts = [files.snapshot_header(gen, len(names))]
        for name in names:
            raw = self._raw.get(name)
            if raw is None:
                raw = to_bytes(dumps(self._live[name]))
                self._raw[name] = raw  # identical to what the new snapshot holds
            parts.append(files.encode_table_line(name, raw))
        return b"".join(parts)

    def _compact_locked(self) -> None:
        if self._joff <= len(files.journal_header(self._gen)) and not self._broken:
            return
        self._write_generation(self._gen + 1, backup_copy=False)

    def _write_generation(self, gen: int, *, backup_copy: bool) -> None:
        """Snapshot ``gen`` of the current state + an empty journal for it, never without a
        snapshot."""
        folder = self.folder
        data = self._encode_snapshot(gen)
        snap_tmp = folder / f"{SNAPSHOT}.tmp"
        journal_tmp = folder / f"{JOURNAL}.tmp"
        try:
            files.write_file_synced(snap_tmp, data)
            files.write_file_synced(journal_tmp, files.journal_header(gen))
            if backup_copy:
                files.write_file_synced(folder / f"{SNAPSHOT_BAK}.tmp", data)
                os.replace(folder / f"{SNAPSHOT_BAK}.tmp", folder / SNAPSHOT_BAK)
            elif (folder / SNAPSHOT).exists():
                files.link_or_copy(folder / SNAPSHOT, folder / SNAPSHOT_BAK)
            if (folder / JOURNAL).exists():
                files.link_or_copy(folder / JOURNAL, folder / JOURNAL_PREV)
            os.replace(snap_tmp, folder / SNAPSHOT)
            self._broken = True  # until the journal is replaced too, our journal no longer matches
            os.replace(journal_tmp, folder / JOURNAL)
            files.fsync_dir(folder)
        except OSError as exc:
            for tmp in (snap_tmp, journal_tmp):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise files.store_error(exc, "compact its files") from exc
        self._gen = gen
        self._reopen_files()
        self._broken = False


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
                storage._catch_up()
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
                storage._flock(fcntl.LOCK_EX)
                try:
                    storage._sync_locked()
                except BaseException:
                    storage._unflock()
                    raise
                storage._ops = []
                storage._undo = []
                storage._touched = set()
                storage._ops_need_space = False
            self.savepoint = (len(storage._ops), len(storage._undo))
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
                    storage._rollback_to(*self.savepoint)
                finally:
                    if self.outer:
                        storage._unflock()
                return
            if self.outer:
                try:
                    storage._commit()
                finally:
                    storage._unflock()
                storage._after_commit()
        finally:
            storage._mutex.release()


class JournaledTable(Table):
    """TinyDB's Table on a JournaledStorage: O(changed documents) writes, ids safe across
    processes."""

    def __init__(
        self,
        storage: Storage,
        name: str,
        cache_size: int = Table.default_query_cache_capacity,
        persist_empty: bool = False,
    ) -> None:
        self._cache_stamp: tuple[int, int] | None = None
        super().__init__(storage, name, cache_size=cache_size, persist_empty=persist_empty)

    @property
    def _journal(self) -> JournaledStorage:
        return cast(JournaledStorage, self._storage)

    def _fresh_cache(self) -> None:
        stamp = self._journal.table_version(self.name)
        if stamp != self._cache_stamp:
            self._query_cache.clear()
            self._cache_stamp = stamp

    def _read_table(self) -> dict[str, Mapping[Any, Any]]:
        return cast(dict[str, Mapping[Any, Any]], self._journal.read_table(self.name))

    def _update_table(self, updater: Callable[[dict[int, Mapping[Any, Any]]], None]) -> None:
        self._journal.update_table(self.name, updater, self.document_id_class)
        self.clear_cache()
        self._cache_stamp = None

    def _get_next_id(self) -> int:
        # Always asked of the storage, inside the caller's transaction: two processes never pick one
        # id.
        return self._journal.next_id(self.name)

    def insert(self, document: Mapping[Any, Any]) -> int:
        with self._journal.transaction():
            return super().insert(document)

    def insert_multiple(self, documents: Iterable[Mapping[Any, Any]]) -> list[int]:
        with self._journal.transaction():
            return super().insert_multiple(documents)

    def upsert(self, document: Mapping[Any, Any], cond: Any = None) -> list[int]:
        with self._journal.transaction():
            return super().upsert(document, cond)

    def search(self, cond: Any) -> list[Document]:
        self._fresh_cache()
        return super().search(cond)


class JournaledTinyDB(TinyDB):
    """TinyDB whose table management goes through the journal too (drops are single journal
    entries)."""

    table_class = JournaledTable
    default_storage_class = JournaledStorage  # type: ignore[assignment]

    @property
    def journal(self) -> JournaledStorage:
        return cast(JournaledStorage, self.storage)

    def tables(self) -> set[str]:
        return self.journal.table_names()

    def drop_table(self, name: str) -> None:
        self._tables.pop(name, None)
        self.journal.drop_table(name)

    def drop_tables(self) -> None:
        self.journal.drop_all()
        self._tables.clear()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Several TinyDB calls as one durable, all-or-nothing commit."""
        return self.journal.transaction()


def open_tinydb(path: str | os.PathLike[str], **kwargs: Any) -> JournaledTinyDB:
    """A TinyDB on the durable storage in folder ``path`` (keyword arguments go to the storage)."""
    return JournaledTinyDB(path, storage=JournaledStorage, **kwargs)


__all__ = [
    "JournaledStorage",
    "JournaledTable",
    "JournaledTinyDB",
    "Listener",
    "open_tinydb",
]
