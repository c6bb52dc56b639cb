"""Damaged, torn and full stores: recovered (and reported), never silently reset; quota refusals are
clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tutornb.errors import QuotaExceeded, StoreVersionError
from tutornb.models import CourseContext, Role
from tutornb.store import NewMessage, SessionStore
from tutornb.store.files import frame, unframe


def _open(folder: Path, **kwargs: object) -> SessionStore:
    return SessionStore(folder, background_compaction=False, **kwargs)  # type: ignore[arg-type]


def _seed(folder: Path, messages: int) -> tuple[str, list[str]]:
    store = _open(folder)
    session = store.create_session("learner", CourseContext(course_id="c"))
    texts = [f"message {i}" for i in range(messages)]
    for text in texts:
        store.append_message(session.id, NewMessage(Role.LEARNER, text))
    store.close()
    return session.id, texts


def _texts(store: SessionStore, session_id: str) -> list[str]:
    return [m.text for m in store.messages(session_id)]


def _flip_byte(path: Path, where: float) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x20
    path.write_bytes(bytes(data))


def test_torn_last_journal_line_is_dropped_quietly(tmp_path: Path) -> None:
    # Given a store whose last journal line was cut short by a crash (no newline)
    folder = tmp_path / ".tutornb"
    session_id, texts = _seed(folder, 5)
    journal = folder / "journal.jsonl"
    good = journal.read_bytes()
    with open(journal, "ab") as handle:
        handle.write(b'1234abcd [["put","messages/x","6",{"text":"never acknow')

    # When the store is opened and written to
    store = _open(folder)
    store.append_message(session_id, NewMessage(Role.LEARNER, "after the crash"))

    # Then acknowledged messages are all there, the torn bytes are gone, and this is no "recovery"
    assert _texts(store, session_id) == [*texts, "after the crash"]
    assert store.stats().recovered == []
    data = journal.read_bytes()
    assert data.startswith(good)
    assert all(unframe(line) is not None for line in data.split(b"\n")[:-1])
    store.close()


def test_corrupt_snapshot_is_recovered_from_backup_and_reported(tmp_path: Path) -> None:
    # Given a store compacted twice (snapshot + backup), with more messages in the journal after
    # that
    folder = tmp_path / ".tutornb"
    session_id, texts = _seed(folder, 4)
    store = _open(folder)
    store.compact()
    store.append_message(session_id, NewMessage(Role.TUTOR, "between compactions"))
    store.compact()
    store.append_message(session_id, NewMessage(Role.TUTOR, "in the journal"))
    store.close()

    # When the snapshot is damaged on disk
    _flip_byte(folder / "snapshot.jsonl", 0.6)
    recovered = _open(folder)

    # Then the store is rebuilt from backup + journals, the damage is reported and kept aside
    assert _texts(recovered, session_id) == [*texts, "between compactions", "in the journal"]
    notes = recovered.stats().recovered
    assert len(notes) == 1
    assert "snapshot.jsonl was damaged" in notes[0]
    assert "/" not in notes[0].replace("snapshot.jsonl", "")  # no paths in reports
    assert len(list(folder.glob("snapshot.jsonl.*.corrupt"))) == 1
    recovered.close()
    # And the store is healthy again: a plain reopen reports nothing new
    again = _open(folder)
    assert again.stats().recovered == []
    assert _texts(again, session_id)[-1] == "in the journal"
    again.close()


def test_damaged_journal_entry_in_the_middle_is_skipped_and_reported(tmp_path: Path) -> None:
    # Given a store whose journal has a damaged entry followed by good ones
    folder = tmp_path / ".tutornb"
    store = _open(folder)
    first = store.create_session("learner", CourseContext(course_id="a"))
    second = store.create_session("learner", CourseContext(course_id="b"))
    store.append_message(first.id, NewMessage(Role.LEARNER, "one"))
    store.append_message(second.id, NewMessage(Role.LEARNER, "two"))
    store.append_message(first.id, NewMessage(Role.LEARNER, "three"))
    store.close()
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if b'"two"' in line)
    lines[index] = lines[index].replace(b'"two"', b'"twx"')
    journal.write_bytes(b"\n".join(lines))

    # When it is opened
    recovered = _open(folder)

    # Then what precedes and follows the damaged entry is kept, and the damage is reported
    assert _texts(recovered, first.id) == ["one", "three"]
    assert "damaged entr" in recovered.stats().recovered[0]
    assert list(folder.glob("journal.jsonl.*.corrupt"))
    recovered.close()


def test_interrupted_compaction_loses_nothing(tmp_path: Path) -> None:
    # Given a store where a compaction replaced the snapshot but died before replacing the journal
    folder = tmp_path / ".tutornb"
    session_id, texts = _seed(folder, 3)
    store = _open(folder)
    real_replace = os.replace
    calls: list[str] = []

    def replace_then_die(src: object, dst: object) -> None:
        calls.append(str(dst))
        if str(dst).endswith("journal.jsonl"):
            raise OSError(5, "simulated crash")
        real_replace(src, dst)  # type: ignore[arg-type]

    os.replace = replace_then_die  # type: ignore[assignment]
    try:
        with pytest.raises(Exception, match="could not compact"):
            store.compact()
    finally:
        os.replace = real_replace
    # ... and the same process keeps writing afterwards
    store.append_message(session_id, NewMessage(Role.LEARNER, "after the failed compaction"))
    store.close()

    # When the store is opened again
    reopened = _open(folder)

    # Then every acknowledged message is there
    assert _texts(reopened, session_id) == [*texts, "after the failed compaction"]
    reopened.close()


def test_quota_refuses_before_writing_and_leaves_the_store_intact(tmp_path: Path) -> None:
    # Given a store with a small quota, filled close to it
    folder = tmp_path / ".tutornb"
    store = _open(folder, quota_bytes=12_000)
    session = store.create_session("learner", CourseContext(course_id="c"))
    stored: list[str] = []

    def fill() -> None:
        for i in range(1000):
            text = f"message {i} " + "x" * 200
            store.append_message(session.id, NewMessage(Role.LEARNER, text))
            stored.append(text)

    with pytest.raises(QuotaExceeded) as refused:
        fill()
    journal_after_refusal = (folder / "journal.jsonl").read_bytes()

    # When the refused message is retried, and after an old session is deleted
    with pytest.raises(QuotaExceeded):
        store.append_message(session.id, NewMessage(Role.LEARNER, "still too much " * 20))
    assert (folder / "journal.jsonl").read_bytes() == journal_after_refusal
    store.close()
    reopened = _open(folder, quota_bytes=12_000)
    kept = _texts(reopened, session.id)
    reopened.delete_session(session.id)
    fresh = reopened.create_session("learner", CourseContext(course_id="c"))
    reopened.append_message(fresh.id, NewMessage(Role.LEARNER, "room again"))

    # Then the refusal is the clear 507 error, nothing partial was written, and space comes back
    assert refused.value.code == "QUOTA_EXCEEDED"
    assert "quota" in refused.value.message
    assert journal_after_refusal.endswith(b"\n")
    assert kept == stored
    assert reopened.stats().bytes <= 12_000
    reopened.close()


def test_damaged_snapshot_without_backup_is_rebuilt_from_the_journal(tmp_path: Path) -> None:
    # Given a young store (never compacted: no backup) whose snapshot is truncated
    folder = tmp_path / ".tutornb"
    session_id, texts = _seed(folder, 3)
    snapshot = folder / "snapshot.jsonl"
    snapshot.write_bytes(snapshot.read_bytes()[:-5])

    # When it is opened
    store = _open(folder)

    # Then the journal, which holds everything since the empty first snapshot, rebuilt it
    assert _texts(store, session_id) == texts
    assert "snapshot.jsonl was damaged" in store.stats().recovered[0]
    store.close()


def test_garbled_journal_header_keeps_its_entries(tmp_path: Path) -> None:
    # Given a store whose journal header was overwritten with garbage
    folder = tmp_path / ".tutornb"
    session_id, texts = _seed(folder, 3)
    journal = folder / "journal.jsonl"
    data = journal.read_bytes()
    first = data.index(b"\n")
    journal.write_bytes(b"x" * first + data[first:])

    # When it is opened
    store = _open(folder)

    # Then its entries were replayed, the damage reported, and a copy kept aside
    assert _texts(store, session_id) == texts
    assert "damaged header" in store.stats().recovered[0]
    assert list(folder.glob("journal.jsonl.*.corrupt"))
    store.close()


def test_journal_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    # Given a store whose journal says it was written by a newer tutornb
    folder = tmp_path / ".tutornb"
    _seed(folder, 1)
    journal = folder / "journal.jsonl"
    data = journal.read_bytes()
    header = b'{"format":"tutornb.journal","format_version":7,"generation":0}'
    journal.write_bytes(frame(header) + data[data.index(b"\n") + 1 :])
    before = journal.read_bytes()

    # When it is opened
    # Then it is refused with a clear error and left untouched
    with pytest.raises(StoreVersionError, match="newer tutornb"):
        _open(folder)
    assert journal.read_bytes() == before
