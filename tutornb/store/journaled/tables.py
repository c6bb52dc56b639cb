"""The database in memory: parsed tables, tables still raw from the snapshot, id counters, listeners.

Everything else in the journaled storage changes the data through this one object, so a replayed
journal line (another process's commit, or recovery) and a local write update memory, ids, versions
and listeners the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from tutornb.errors import StoreError
from tutornb.store import files
from tutornb.store.files import Damaged, dumps, to_bytes

log = logging.getLogger("tutornb.store")

Doc = dict[str, Any]
#: ``listener(table, doc_key, old, new)``: one document changed (``old``/``new`` None when absent),
#: or ``doc_key`` None: the whole table changed, or ``table`` None: everything was reloaded.
Listener = Callable[[str | None, str | None, Doc | None, Doc | None], None]


class Tables:
    """Tables by name. A table is either parsed (``live``) or still the snapshot's bytes (``raw``).

    Tables are parsed lazily, the first time they are used, so opening a large store costs a
    checksum pass, not a parse; ``raw`` keeps a table's bytes only while they still match memory.
    """

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Doc]] = {}
        self.raw: dict[str, bytes] = {}
        #: Highest numeric id per table, once known (None: compute it from the documents).
        self.max_ids: dict[str, int] = {}
        #: Change counter per table; with ``epoch`` (bumped by every reload) it lets TinyDB's
        #: query cache know when it is stale.
        self.versions: dict[str, int] = {}
        self.epoch = 0
        self.counter = 0
        self.listeners: list[Listener] = []

    # -- reading

    def names(self) -> set[str]:
        return set(self.live) | set(self.raw)

    def has(self, name: str) -> bool:
        return name in self.live or name in self.raw

    def materialize(self, name: str) -> dict[str, Doc]:
        """The live documents of ``name`` (parsed now if needed); ``{}`` when it does not exist."""
        docs = self.live.get(name)
        if docs is not None:
            return docs
        raw = self.raw.get(name)
        if raw is None:
            return {}
        try:
            docs = json.loads(raw)
        except ValueError as exc:  # the checksum passed, so this is a bug, not a torn write
            raise StoreError("The session store holds an unreadable table.") from exc
        if not isinstance(docs, dict):
            raise StoreError("The session store holds an unreadable table.")
        self.live[name] = docs
        return docs

    def next_id(self, name: str) -> int:
        current = self.max_ids.get(name)
        if current is None:
            current = max((int(k) for k in self.materialize(name) if k.isdigit()), default=0)
        current += 1
        self.max_ids[name] = current
        return current

    # -- changing

    def install(self, raw: dict[str, bytes]) -> None:
        """Replaces everything with a snapshot's tables (before a journal is replayed on them)."""
        self.live = {}
        self.raw = dict(raw)
        self.max_ids = {}

    def new_epoch(self) -> None:
        """After a reload: every cached query result is stale, whatever the table versions say."""
        self.epoch += 1
        self.versions = {}

    def for_write(self, name: str) -> dict[str, Doc]:
        if self.has(name):
            return self.materialize(name)
        docs: dict[str, Doc] = {}
        self.live[name] = docs
        return docs

    def replace(self, name: str) -> dict[str, Doc]:
        """An empty dict installed as table ``name`` (a cleared table)."""
        docs: dict[str, Doc] = {}
        self.live[name] = docs
        self.raw.pop(name, None)
        self.max_ids[name] = 0
        return docs

    def restore(self, name: str, docs: dict[str, Doc] | None, raw: bytes | None) -> None:
        """Puts a table back as it was (None: absent), for undo."""
        if docs is None:
            self.live.pop(name, None)
        else:
            self.live[name] = docs
        if raw is None:
            self.raw.pop(name, None)
        else:
            self.raw[name] = raw
        self.max_ids.pop(name, None)

    def drop(self, name: str) -> None:
        self.live.pop(name, None)
        self.raw.pop(name, None)
        self.max_ids.pop(name, None)

    def bump(self, name: str) -> None:
        self.counter += 1
        self.versions[name] = self.counter

    def notify(self, table: str | None, key: str | None, old: Doc | None, new: Doc | None) -> None:
        for listener in list(self.listeners):
            try:
                listener(table, key, old, new)
            except Exception:  # a listener bug must never break durability
                log.exception("store listener failed")

    def apply_ops(self, ops: Iterable[Any], *, notify: bool) -> None:
        """Applies one journal entry (another process's commit, or a replay on open)."""
        for op in ops:
            kind = op[0]
            name = op[1]
            if kind == "put":
                key, doc = op[2], op[3]
                docs = self.for_write(name)
                old = docs.get(key)
                docs[key] = doc
                self.raw.pop(name, None)
                current = self.max_ids.get(name)
                if current is not None and key.isdigit() and int(key) > current:
                    self.max_ids[name] = int(key)
                if notify:
                    self.notify(name, key, old, doc)
            elif kind == "del":
                key = op[2]
                docs = self.for_write(name)
                old = docs.pop(key, None)
                self.raw.pop(name, None)
                if notify and old is not None:
                    self.notify(name, key, old, None)
            elif kind == "clear":
                self.replace(name)
                if notify:
                    self.notify(name, None, None, None)
            elif kind == "drop":
                self.drop(name)
                if notify:
                    self.notify(name, None, None, None)
            else:
                raise Damaged(f"unknown journal operation {kind!r}")
            self.bump(name)

    def encode_snapshot(self, generation: int) -> bytes:
        """The snapshot file of the current state (tables never parsed are copied as they are)."""
        names = sorted(self.names())
        parts = [files.snapshot_header(generation, len(names))]
        for name in names:
            raw = self.raw.get(name)
            if raw is None:
                raw = to_bytes(dumps(self.live[name]))
                self.raw[name] = raw  # identical to what the new snapshot holds
            parts.append(files.encode_table_line(name, raw))
        return b"".join(parts)
