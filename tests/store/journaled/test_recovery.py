"""Recovery: damaged files are kept aside, the store is rebuilt from what checks out, and says so."""

from __future__ import annotations

from pathlib import Path

from tutornb.store import files
from tutornb.store.journaled import open_tinydb


def _store_with_two_generations(folder: Path) -> None:
    db = open_tinydb(folder, background_compaction=False)
    db.table("t").insert({"n": 1})
    db.journal.compact()  # generation 1; the empty generation 0 becomes the backup
    db.table("t").insert({"n": 2})
    db.journal.compact()  # generation 2; generation 1 becomes the backup
    db.table("t").insert({"n": 3})  # in the journal only
    db.close()


def test_a_damaged_snapshot_is_moved_aside_and_rebuilt_from_backup_and_journals(tmp_path: Path) -> None:
    # Given a store whose snapshot got a flipped byte
    _store_with_two_generations(tmp_path)
    snapshot = tmp_path / files.SNAPSHOT
    data = bytearray(snapshot.read_bytes())
    data[-5] ^= 0x01
    snapshot.write_bytes(bytes(data))
    # When it is opened
    db = open_tinydb(tmp_path, background_compaction=False)
    # Then nothing acknowledged is lost, the damaged file is kept, and the recovery is told
    assert sorted(d["n"] for d in db.table("t").all()) == [1, 2, 3]
    assert list(tmp_path.glob("snapshot.jsonl.*.corrupt"))
    assert len(db.journal.recovered) == 1
    assert "recovered from snapshot.jsonl.bak" in db.journal.recovered[0]
    assert str(tmp_path) not in db.journal.recovered[0]
    db.close()
    # And the store is healthy again at once
    reopened = open_tinydb(tmp_path, background_compaction=False)
    assert reopened.journal.recovered == []
    assert len(reopened.table("t")) == 3
    reopened.close()


def test_a_damaged_journal_entry_is_skipped_and_the_journal_copied_aside(tmp_path: Path) -> None:
    db = open_tinydb(tmp_path, background_compaction=False)
    for n in range(3):
        db.table("t").insert({"n": n})
    db.close()
    journal = tmp_path / files.JOURNAL
    lines = journal.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"n":1', b'"n":7')  # checksum no longer matches
    journal.write_bytes(b"\n".join(lines))
    reopened = open_tinydb(tmp_path, background_compaction=False)
    assert sorted(d["n"] for d in reopened.table("t").all()) == [0, 2]
    assert "1 damaged entry" in reopened.journal.recovered[0]
    assert list(tmp_path.glob("journal.jsonl.*.corrupt"))
    reopened.close()


def test_a_missing_store_starts_empty_without_notes(tmp_path: Path) -> None:
    db = open_tinydb(tmp_path / "new", background_compaction=False)
    assert db.tables() == set()
    assert db.journal.recovered == []
    assert (tmp_path / "new" / files.SNAPSHOT).is_file()
    db.close()
