"""Compaction: a new snapshot generation, the previous files kept as backups (gzipped)."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

from tutornb.store import files
from tutornb.store.journaled import open_tinydb


def test_compaction_keeps_the_previous_generation_as_backups(tmp_path: Path) -> None:
    # Given a store with a journal of commits
    db = open_tinydb(tmp_path, background_compaction=False)
    for n in range(200):
        db.table("t").insert({"n": n, "pad": "x" * 50})
    before_snapshot = (tmp_path / files.SNAPSHOT).read_bytes()
    before_journal = (tmp_path / files.JOURNAL).read_bytes()
    # When it compacts
    db.journal.compact()
    # Then the new snapshot holds everything, the journal is empty, the old files are the backups
    generation, tables = files.decode_snapshot((tmp_path / files.SNAPSHOT).read_bytes())
    assert generation == 1
    assert tables["t"].count(b'"pad"') == 200
    assert files.read_journal((tmp_path / files.JOURNAL).read_bytes()).entries == []
    assert (tmp_path / files.SNAPSHOT_BAK).read_bytes() == before_snapshot
    assert (tmp_path / files.JOURNAL_PREV).read_bytes() == before_journal
    # When the backups are shrunk
    db.journal.shrink_backups()
    # Then the previous journal is gzipped and still reads back
    packed = (tmp_path / files.JOURNAL_PREV).read_bytes()
    assert packed.startswith(files.GZIP_MAGIC)
    assert zlib.decompress(packed, wbits=31) == before_journal
    assert files.read_backup(tmp_path / files.JOURNAL_PREV) == before_journal
    db.close()


def test_commits_past_the_threshold_compact_automatically(tmp_path: Path) -> None:
    db = open_tinydb(tmp_path, background_compaction=False, compact_bytes=4096)
    for n in range(100):
        db.table("t").insert({"n": n, "pad": "y" * 100})
    generation, _ = files.decode_snapshot((tmp_path / files.SNAPSHOT).read_bytes())
    assert generation >= 2
    assert (tmp_path / files.JOURNAL).stat().st_size <= 4096 + 400
    assert len(db.table("t")) == 100
    db.close()


def test_background_compaction_runs_off_the_writer(tmp_path: Path) -> None:
    db = open_tinydb(tmp_path, compact_bytes=4096)
    for n in range(100):
        db.table("t").insert({"n": n, "pad": "z" * 100})
    # The thread compacts soon after the commits (never inside one).
    deadline = time.monotonic() + 20
    while files.decode_snapshot((tmp_path / files.SNAPSHOT).read_bytes())[0] < 1:
        assert time.monotonic() < deadline, "the background compaction never ran"
        time.sleep(0.05)
    db.close()
    reopened = open_tinydb(tmp_path, background_compaction=False)
    assert len(reopened.table("t")) == 100
    reopened.close()
