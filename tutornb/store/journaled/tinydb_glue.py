"""TinyDB on the journaled storage: a ``Table`` whose writes cost O(changed documents).

This overrides TinyDB 4's table internals (``_read_table``, ``_update_table``, ``_get_next_id``,
``_query_cache``), which is why pyproject pins ``tinydb>=4.8,<5``; tests/store/test_tinydb_semantics.py
checks the result still behaves exactly like upstream TinyDB.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from tutornb.store.journaled.storage import JournaledStorage


class JournaledTable(Table):
    """TinyDB's Table on a JournaledStorage: O(changed documents) writes, ids safe across processes."""

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
        # Another process's commit changes the table without going through this object.
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
        # Always asked of the storage, inside the caller's transaction: two processes never pick one id.
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
    """TinyDB whose table management goes through the journal too (drops are single journal entries)."""

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
