"""Journal: two storages on one folder (as the server and a kernel) follow each other's commits."""

from __future__ import annotations

from pathlib import Path

from tutornb.store import files
from tutornb.store.journaled import JournaledStorage, open_tinydb


def test_commits_of_another_storage_are_read_incrementally(tmp_path: Path) -> None:
    # Given two storages on the same folder
    a = open_tinydb(tmp_path, background_compaction=False)
    b = open_tinydb(tmp_path, background_compaction=False)
    epoch = b.journal.table_version("t")[0]
    # When one commits
    a.table("t").insert({"from": "a"})
    with a.transaction():
        a.table("t").insert({"n": 1})
        a.table("t").insert({"n": 2})
    # Then the other sees it without a reload (same epoch) and can write after it
    assert [d["n"] for d in b.table("t").all() if "n" in d] == [1, 2]
    assert b.journal.table_version("t")[0] == epoch
    assert b.table("t").insert({"from": "b"}) == 4
    assert len(a.table("t")) == 4
    assert a.journal.recovered == b.journal.recovered == []
    a.close()
    b.close()


def test_a_compaction_by_another_storage_is_followed_without_reload(tmp_path: Path) -> None:
    a = open_tinydb(tmp_path, background_compaction=False)
    b = open_tinydb(tmp_path, background_compaction=False)
    a.table("t").insert({"n": 1})
    assert len(b.table("t")) == 1
    epoch = b.journal.table_version("t")[0]
    # When a compacts and writes again
    a.journal.compact()
    a.table("t").insert({"n": 2})
    # Then b follows the rotation (no reload) and sees both documents
    assert sorted(d["n"] for d in b.table("t").all()) == [1, 2]
    assert b.journal.table_version("t")[0] == epoch
    a.close()
    b.close()


def test_a_torn_last_line_is_cut_by_the_next_writer(tmp_path: Path) -> None:
    # Given a journal whose last line was torn by a crash mid-write
    a = open_tinydb(tmp_path, background_compaction=False)
    a.table("t").insert({"n": 1})
    a.close()
    with open(tmp_path / files.JOURNAL, "ab") as journal:
        journal.write(b'0badc0de [["put","t","9"')
    # When the store is opened and written
    storage = JournaledStorage(tmp_path, background_compaction=False)
    db = open_tinydb(tmp_path, background_compaction=False)
    db.table("t").insert({"n": 2})
    # Then the torn bytes are gone and both acknowledged documents are there
    data = (tmp_path / files.JOURNAL).read_bytes()
    read = files.read_journal(data)
    assert not read.torn
    assert read.damaged_lines == 0
    assert sorted(d["n"] for d in db.table("t").all()) == [1, 2]
    storage.close()
    db.close()
