"""Changes not yet committed: what a TinyDB updater did, the journal operations, and how to undo them.

TinyDB's ``Table._update_table`` converts the whole table for every write and hands it to an
updater. ``UpdateView`` is what the updater gets instead: a mapping over the live table that records
the first pre-image of each document it hands out, sets or deletes, so only those are journaled and
all of them can be put back. ``ChangeLog`` turns views into journal operations plus undo entries, for
one transaction and its savepoints.
"""

from __future__ import annotations

import copy
import json
import marshal
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, cast

from tutornb.store import files
from tutornb.store.files import dumps, to_bytes
from tutornb.store.journaled.tables import Doc, Tables

#: Marks "no document here" in pre-images and undo entries (None is a valid document value).
ABSENT: Any = object()


class _Deep:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def freeze(doc: Any) -> Any:
    """A cheap exact pre-image of a document, to detect in-place changes and undo them."""
    try:
        return marshal.dumps(doc, 2)
    except ValueError:
        return _Deep(copy.deepcopy(doc))


def thaw(image: Any) -> Any:
    if isinstance(image, bytes):
        # Only ever our own in-memory pre-images, never data read from disk.
        return marshal.loads(image)  # noqa: S302
    return copy.deepcopy(cast(_Deep, image).value)


def changed(doc: Any, image: Any) -> bool:
    if isinstance(image, bytes):
        try:
            return marshal.dumps(doc, 2) != image
        except ValueError:
            return True
    return bool(doc != cast(_Deep, image).value)


class UpdateView(MutableMapping[Any, Doc]):
    """What a TinyDB updater sees instead of a converted copy of the whole table.

    Keys are the table's document ids (ints); the live table underneath is keyed by strings, as on
    disk.
    """

    def __init__(self, tables: Tables, name: str, id_class: Callable[[str], Any]) -> None:
        self.tables = tables
        self.name = name
        self.id_class = id_class
        self.existed = tables.has(name)
        self.raw_before = tables.raw.get(name)
        self.docs = tables.for_write(name)
        #: key -> ("read", frozen image) or ("obj", previous object or ABSENT)
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
            self.pre[key] = ("read", freeze(doc))
        return doc

    def __setitem__(self, doc_id: Any, doc: Doc) -> None:
        key = str(doc_id)
        if key not in self.pre:
            self.pre[key] = ("obj", self.docs.get(key, ABSENT))
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
                old = thaw(image) if kind == "read" else image
                if old is ABSENT:
                    before.pop(key, None)
                else:
                    before[key] = old
            self.cleared_from = before
        self.docs = self.tables.replace(self.name)
        self.pre = {}
        self.written = set()

    def previous(self, key: str) -> Any:
        kind, image = self.pre[key]
        return thaw(image) if kind == "read" else image

    def rollback(self) -> None:
        """Undoes what the updater did before it raised (nothing was journaled yet)."""
        if self.cleared_from is not None:
            self.tables.restore(self.name, self.cleared_from if self.existed else None, self.raw_before)
            return
        for key in self.pre:
            old = self.previous(key)
            if old is ABSENT:
                self.docs.pop(key, None)
            else:
                self.docs[key] = old
        if not self.existed:
            self.tables.restore(self.name, None, None)


class ChangeLog:
    """The open transaction: journal operations to append, and undo entries to roll back.

    A savepoint is ``(len(ops), len(undo))``; rolling back to one undoes just the inner block.
    """

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.ops: list[str] = []
        self.undo: list[tuple[Any, ...]] = []
        self.touched: set[tuple[str, str]] = set()
        #: True once an operation adds data (deletes and drops are allowed over the quota).
        self.needs_space = False

    def reset(self) -> None:
        self.ops = []
        self.undo = []
        self.touched = set()
        self.needs_space = False

    def savepoint(self) -> tuple[int, int]:
        return (len(self.ops), len(self.undo))

    def line(self) -> bytes:
        """The journal line committing every operation, as one checksummed entry."""
        return files.frame(to_bytes("[" + ",".join(self.ops) + "]"))

    def record_drop(self, name: str) -> None:
        tables = self.tables
        self.undo.append(("table", name, tables.live.get(name), tables.raw.get(name)))
        tables.drop(name)
        self.ops.append(f'["drop",{dumps(name)}]')
        tables.bump(name)
        tables.notify(name, None, None, None)

    def record_view(self, view: UpdateView, *, normalize: bool) -> None:
        """Journals what ``view``'s updater changed; ``normalize`` re-reads each document from its JSON."""
        tables = self.tables
        name = view.name
        name_json = dumps(name)
        ops = self.ops
        changes: list[tuple[str, Any, Any]] = []
        if view.cleared_from is not None:
            self.undo.append(("table", name, view.cleared_from if view.existed else None, view.raw_before))
            ops.append(f'["clear",{name_json}]')
            changes = [(key, ABSENT, view.docs[key]) for key in view.docs]
            table_reset = True
        else:
            table_reset = False
            for key, (_kind, image) in view.pre.items():
                current = view.docs.get(key, ABSENT)
                if key in view.written:
                    old = view.previous(key)
                    if current is ABSENT and old is ABSENT:
                        continue
                    changes.append((key, old, current))
                elif current is not ABSENT and changed(current, image):
                    changes.append((key, thaw(image), current))
            if not view.existed:
                self.undo.append(("table", name, None, None))
                ops.append(f'["clear",{name_json}]')
        if not changes and not table_reset and view.existed:
            return
        tables.raw.pop(name, None)
        max_id = tables.max_ids.get(name)
        for key, old, new in changes:
            if not table_reset and (name, key) not in self.touched:
                self.undo.append(("doc", name, key, old))
            self.touched.add((name, key))
            key_json = dumps(key)
            if new is ABSENT:
                view.docs.pop(key, None)
                ops.append(f'["del",{name_json},{key_json}]')
                continue
            # An unserializable document raises TypeError like TinyDB's own storage (the undo entry
            # above makes the enclosing transaction put everything back).
            encoded = dumps(new)
            if normalize:
                # Keep in memory exactly what other processes and a reopen will read back.
                view.docs[key] = json.loads(encoded)
            ops.append(f'["put",{name_json},{key_json},{encoded}]')
            self.needs_space = True
            if max_id is not None and key.isdigit() and int(key) > max_id:
                max_id = int(key)
        if max_id is not None:
            tables.max_ids[name] = max_id
        tables.bump(name)
        if table_reset:
            tables.notify(name, None, None, None)
        else:
            for key, old, new in changes:
                tables.notify(
                    name,
                    key,
                    None if old is ABSENT else old,
                    None if new is ABSENT else view.docs.get(key),
                )

    def rollback_to(self, ops_len: int, undo_len: int) -> None:
        tables = self.tables
        touched_tables: set[str] = set()
        while len(self.undo) > undo_len:
            entry = self.undo.pop()
            if entry[0] == "doc":
                _, name, key, old = entry
                docs = tables.live.get(name)
                if docs is None:
                    docs = tables.for_write(name)
                if old is ABSENT:
                    docs.pop(key, None)
                else:
                    docs[key] = old
                self.touched.discard((name, key))
            else:
                _, name, docs_before, raw_before = entry
                tables.restore(name, docs_before, raw_before)
            touched_tables.add(name)
            tables.max_ids.pop(name, None)
        del self.ops[ops_len:]
        for name in touched_tables:
            tables.bump(name)
            tables.notify(name, None, None, None)
