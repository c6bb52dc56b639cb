"""Schema and file-format versions: a tutornb 0.0 store is migrated, a newer store is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tutornb.errors import StoreVersionError
from tutornb.models import SCHEMA_VERSION, Phase, Role, Status
from tutornb.store import NewMessage, SessionQuery, SessionStore, open_tinydb
from tutornb.store.files import frame

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store_v1"


def test_v1_store_is_migrated_and_the_old_file_kept(tmp_path: Path) -> None:
    # Given a copy of a tutornb 0.0 store (stock TinyDB JSON file, schema 1)
    folder = tmp_path / ".tutornb"
    shutil.copytree(FIXTURE, folder)
    original = (folder / "tutornb.json").read_bytes()

    # When it is opened by this version
    store = SessionStore(folder, background_compaction=False)

    # Then every session and message is there in the new schema
    page = store.list_sessions(SessionQuery())
    assert page.total == 3
    lists = store.get_detail("5b1f0c9e-2d7a-4f43-9a53-0c6a3b1d2e11")
    assert lists.owner == "maria"
    assert lists.status is Status.ACTIVE
    assert lists.phase is Phase.QUIZZING
    assert lists.current_question_number == 2
    assert lists.context.course_id == "python-basics"
    assert lists.context.notebook_path == "notebooks/02_lists.ipynb"
    assert lists.state.summary.startswith("Knows indexing")
    assert [m.seq for m in lists.messages] == [1, 2, 3, 4, 5]
    assert [m.role for m in lists.messages[:2]] == [Role.LEARNER, Role.TUTOR]
    assert lists.messages[1].citations[0].heading == "Adding items"
    assert lists.messages[0].created_at.isoformat() == "2025-03-02T10:15:03+00:00"
    assert lists.message_count == 5
    closed = store.get_detail("9d2e7a41-6b0f-4c8e-8f1a-7e5c4b3a2d10")
    assert closed.status is Status.CLOSED
    assert "veränderbar" in closed.messages[0].text
    assert store.list_sessions(SessionQuery(q="VERÄNDERBAR")).total == 1
    empty = store.get_session("c0ffee00-0000-4000-8000-000000000003")
    assert empty.status is Status.PAUSED
    assert empty.message_count == 0

    # And the old file is kept under a new name, and the store works on
    assert not (folder / "tutornb.json").exists()
    assert (folder / "tutornb.json.v1.bak").read_bytes() == original
    store.append_message(lists.id, NewMessage(Role.LEARNER, "[1, 2, 3]"))
    store.close()
    reopened = SessionStore(folder, background_compaction=False)
    assert reopened.get_session(lists.id).message_count == 6
    assert reopened.db.table("meta").get(doc_id=1) == {
        "schema_version": SCHEMA_VERSION,
        "format": "tutornb.store",
        "migrated_from": 1,
    }
    reopened.close()


def test_newer_schema_is_refused_unchanged(tmp_path: Path) -> None:
    # Given a store whose schema version is newer than this tutornb's
    folder = tmp_path / ".tutornb"
    SessionStore(folder, background_compaction=False).close()
    db = open_tinydb(folder, background_compaction=False)
    db.table("meta").update({"schema_version": SCHEMA_VERSION + 1}, doc_ids=[1])
    db.close()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    # When it is opened
    with pytest.raises(StoreVersionError, match="newer"):
        SessionStore(folder, background_compaction=False)

    # Then nothing on disk changed
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_newer_file_format_is_refused_not_treated_as_damage(tmp_path: Path) -> None:
    # Given a store whose snapshot says it uses a newer file format
    folder = tmp_path / ".tutornb"
    SessionStore(folder, background_compaction=False).close()
    header = {"format": "tutornb.snapshot", "format_version": 99, "generation": 0, "tables": 0}
    (folder / "snapshot.jsonl").write_bytes(frame(json.dumps(header).encode()))

    # When it is opened
    with pytest.raises(StoreVersionError, match="newer tutornb"):
        SessionStore(folder, background_compaction=False)

    # Then it was not moved aside as corrupt
    assert not list(folder.glob("*.corrupt"))
