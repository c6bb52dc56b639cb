"""TinyDB on the journaled storage behaves exactly like TinyDB on its in-memory storage, and is
durable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tinydb import Query, TinyDB, where
from tinydb.operations import add, delete, increment
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from tutornb.store import JournaledTinyDB, open_tinydb


def _state(db: TinyDB) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    return {
        name: sorted((doc.doc_id, dict(doc)) for doc in db.table(name).all()) for name in sorted(db.tables())
    }


def _workload(db: TinyDB) -> list[Any]:
    """Every TinyDB operation once; returns what each call answered."""
    item = Query()
    out: list[Any] = []
    out.append(db.insert({"name": "a", "n": 1, "tags": ["x"]}))
    out.append(db.insert_multiple([{"name": "b", "n": 2}, {"name": "c", "n": 3}]))
    out.append(db.update({"seen": True}, item.n >= 2))
    out.append(db.update(increment("n"), doc_ids=[1, 99]))
    out.append(db.update(add("tags", ["y"]), item.name == "a"))
    out.append(db.update(delete("seen"), doc_ids=[3]))

    def rename(doc: dict[str, Any]) -> None:
        doc["name"] = doc["name"].upper()

    out.append(db.update(rename, item.n == 3))
    out.append(db.update_multiple([({"tier": "low"}, item.n < 3), ({"tier": "high"}, item.n >= 3)]))
    out.append(db.contains(doc_id=2))
    out.append(db.upsert({"name": "d", "n": 4}, item.name == "d"))
    out.append(db.upsert({"name": "d", "n": 5}, item.name == "d"))
    out.append(db.upsert(Document({"name": "e"}, doc_id=10)))
    out.append(db.insert({"after": "explicit id"}))
    out.append(db.search(item.n > 1))
    out.append(db.search(item.n > 1))  # served by the query cache
    out.append(db.get(item.name == "b"))
    out.append(db.get(doc_id=2))
    out.append(db.get(doc_ids=[1, 2, 42]))
    out.append(db.contains(item.name == "zzz"))
    out.append(db.count(item.n.exists()))
    out.append(db.remove(item.name == "b"))
    out.append(db.remove(doc_ids=[3, 77]))
    other = db.table("other")
    out.append(other.insert({"k": 1}))
    out.append(sorted(db.tables()))
    other.truncate()
    out.append(other.insert({"k": 2}))
    out.append(len(other))
    db.table("doomed").insert({"gone": True})
    db.drop_table("doomed")
    out.append(sorted(db.tables()))
    with pytest.raises(ValueError, match="already exists"):
        db.insert(Document({"dup": True}, doc_id=1))
    db.table("empty", persist_empty=True)
    out.append(sorted(db.tables()))
    out.append([doc.doc_id for doc in db])
    return out


def test_every_operation_answers_like_stock_tinydb(tmp_path: Path) -> None:
    # Given stock TinyDB on its memory storage and TinyDB on the journaled storage
    reference = TinyDB(storage=MemoryStorage)
    ours = open_tinydb(tmp_path / "db", background_compaction=False)
    assert isinstance(ours, JournaledTinyDB)

    # When the same workload runs on both
    expected = _workload(reference)
    answered = _workload(ours)

    # Then every answer and the final contents are the same
    assert answered == expected
    assert _state(ours) == _state(reference)
    ours.close()


def test_contents_survive_reopen_and_compaction(tmp_path: Path) -> None:
    # Given a database after the whole workload
    reference = TinyDB(storage=MemoryStorage)
    _workload(reference)
    db = open_tinydb(tmp_path / "db", background_compaction=False)
    _workload(db)
    db.close()

    # When it is reopened, compacted, and reopened again
    reopened = open_tinydb(tmp_path / "db", background_compaction=False)
    after_reopen = _state(reopened)
    reopened.journal.compact()
    reopened.close()
    again = open_tinydb(tmp_path / "db", background_compaction=False)

    # Then nothing changed
    assert after_reopen == _state(reference)
    assert _state(again) == _state(reference)
    again.close()


def test_drop_tables_and_ids_after_reopen(tmp_path: Path) -> None:
    # Given a database with two tables
    db = open_tinydb(tmp_path / "db", background_compaction=False)
    db.insert({"a": 1})
    db.table("t").insert_multiple([{"b": i} for i in range(3)])

    # When every table is dropped and documents inserted afterwards
    db.drop_tables()
    assert db.tables() == set()
    first = db.insert({"fresh": True})
    db.close()
    reopened = open_tinydb(tmp_path / "db", background_compaction=False)

    # Then ids restart like TinyDB's and the drop is durable
    assert first == 1
    assert reopened.tables() == {"_default"}
    assert reopened.all() == [{"fresh": True}]
    assert reopened.insert({"next": 1}) == 2
    reopened.close()


def test_failed_updater_changes_nothing(tmp_path: Path) -> None:
    # Given a table with documents
    db = open_tinydb(tmp_path / "db", background_compaction=False)
    db.insert_multiple([{"n": 1}, {"n": 2}])

    def half_then_fail(doc: dict[str, Any]) -> None:
        doc["n"] = doc["n"] * 10
        if doc["n"] > 10:
            raise RuntimeError("boom")

    # When an update fails half-way
    with pytest.raises(RuntimeError):
        db.update(half_then_fail)

    # Then the documents are unchanged in memory and on disk
    assert [d["n"] for d in db.all()] == [1, 2]
    db.close()
    reopened = open_tinydb(tmp_path / "db", background_compaction=False)
    assert [d["n"] for d in reopened.all()] == [1, 2]
    reopened.close()


def test_transaction_is_one_commit_or_none(tmp_path: Path) -> None:
    # Given a database
    db = open_tinydb(tmp_path / "db", background_compaction=False)
    journal = tmp_path / "db" / "journal.jsonl"
    lines_before = journal.read_bytes().count(b"\n")

    # When two writes run in one transaction, and another transaction fails
    with db.transaction():
        db.insert({"a": 1})
        db.table("t").insert({"b": 2})

    def failing_transaction() -> None:
        with db.transaction():
            db.insert({"c": 3})
            raise KeyError("abort")

    with pytest.raises(KeyError):
        failing_transaction()

    # Then the first is one journal line and the second left no trace
    assert journal.read_bytes().count(b"\n") == lines_before + 1
    assert db.all() == [{"a": 1}]
    db.close()
    reopened = open_tinydb(tmp_path / "db", background_compaction=False)
    assert reopened.all() == [{"a": 1}]
    assert reopened.table("t").all() == [{"b": 2}]
    reopened.close()


def test_query_cache_sees_other_writers(tmp_path: Path) -> None:
    # Given two handles on one store (as the server and a kernel have)
    first = open_tinydb(tmp_path / "db", background_compaction=False)
    second = open_tinydb(tmp_path / "db", background_compaction=False)
    first.insert({"kind": "x"})
    assert len(second.search(where("kind") == "x")) == 1

    # When the other handle writes
    first.insert({"kind": "x"})

    # Then the cached query result is not served stale, and ids never collide
    assert len(second.search(where("kind") == "x")) == 2
    assert second.insert({"kind": "y"}) == 3
    assert first.insert({"kind": "z"}) == 4
    first.close()
    second.close()


def test_unserializable_document_is_refused_and_not_kept(tmp_path: Path) -> None:
    # Given a database
    db = open_tinydb(tmp_path / "db", background_compaction=False)

    # When a document that JSON cannot hold is inserted
    with pytest.raises(TypeError):
        db.insert({"bad": object()})

    # Then nothing was stored
    assert db.all() == []
    db.close()
