"""Issue #11 finding 3: the store never follows a link planted in (or as) its folder.

Another local user who can create names in the store folder (or swap the folder for a link) must not
make tutornb truncate, write or chmod a file elsewhere. Each case: one clear ``StoreFolderUnsafe``
(a one-line message without paths) and nothing overwritten.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tutornb.errors import StoreError, StoreFolderUnsafe
from tutornb.store import SessionStore, files
from tutornb.store.journaled import open_tinydb

VICTIM_TEXT = b"someone else's file\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "victim.txt"
    target.parent.mkdir()
    target.write_bytes(VICTIM_TEXT)
    target.chmod(0o644)
    return target


def _assert_untouched(victim: Path) -> None:
    assert victim.read_bytes() == VICTIM_TEXT
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def _assert_clear(error: StoreError, tmp_path: Path) -> None:
    assert isinstance(error, StoreFolderUnsafe)
    assert "\n" not in error.message
    assert str(tmp_path) not in error.message


def test_a_planted_snapshot_temp_link_is_not_followed_by_compaction(tmp_path: Path, victim: Path) -> None:
    # Given an open store with transcripts, and a snapshot temp name planted as a link to a victim
    folder = tmp_path / ".tutornb"
    db = open_tinydb(folder, background_compaction=False)
    db.table("messages").insert({"text": "a learner's transcript"})
    os.symlink(victim, folder / f"{files.SNAPSHOT}.tmp")
    # When the store compacts
    with pytest.raises(StoreError) as caught:
        db.journal.compact()
    # Then the victim is neither truncated nor written, the link is not renamed into place,
    # and the store keeps working on its own files
    _assert_clear(caught.value, tmp_path)
    _assert_untouched(victim)
    assert not (folder / files.SNAPSHOT).is_symlink()
    db.table("messages").insert({"text": "still saved"})
    assert len(db.table("messages")) == 2
    db.close()


def test_a_store_lock_link_is_refused_and_its_target_not_chmoded(tmp_path: Path, victim: Path) -> None:
    folder = tmp_path / ".tutornb"
    folder.mkdir(mode=0o700)
    os.symlink(victim, folder / files.LOCK)
    with pytest.raises(StoreError) as caught:
        SessionStore(folder, background_compaction=False)
    _assert_clear(caught.value, tmp_path)
    _assert_untouched(victim)


def test_a_symlinked_store_folder_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    # Given a .tutornb that is a link to someone else's folder
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    (target / "notes.txt").write_bytes(VICTIM_TEXT)
    os.symlink(target, tmp_path / ".tutornb")
    # When the store is opened there
    with pytest.raises(StoreError) as caught:
        SessionStore(tmp_path / ".tutornb", background_compaction=False)
    # Then it is refused and nothing in the target changed (no store files, no chmod)
    _assert_clear(caught.value, tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_a_fifo_in_the_store_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / ".tutornb"
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / files.JOURNAL)
    with pytest.raises(StoreError) as caught:
        SessionStore(folder, background_compaction=False)
    _assert_clear(caught.value, tmp_path)


def test_a_link_planted_as_a_backup_name_is_not_followed(tmp_path: Path, victim: Path) -> None:
    # The hard link that keeps the previous journal goes through a temp name too.
    folder = tmp_path / ".tutornb"
    db = open_tinydb(folder, background_compaction=False)
    db.table("t").insert({"n": 1})
    os.symlink(victim, folder / f"{files.JOURNAL_PREV}.tmp")
    with pytest.raises(StoreError):
        db.journal.compact()
    _assert_untouched(victim)
    db.close()


def test_a_stale_temp_file_of_ours_is_replaced(tmp_path: Path) -> None:
    # A crash can leave a temp file behind: a plain file of ours is removed, not refused.
    folder = tmp_path / ".tutornb"
    db = open_tinydb(folder, background_compaction=False)
    db.table("t").insert({"n": 1})
    (folder / f"{files.SNAPSHOT}.tmp").write_bytes(b"half a snapshot")
    db.journal.compact()
    assert files.decode_snapshot((folder / files.SNAPSHOT).read_bytes())[0] == 1
    assert not (folder / f"{files.SNAPSHOT}.tmp").exists()
    db.close()


def test_a_store_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can hand a folder to another user here")
    folder = tmp_path / ".tutornb"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(StoreError) as caught:
        SessionStore(folder, background_compaction=False)
    _assert_clear(caught.value, tmp_path)
    assert list(folder.iterdir()) == []


def test_an_explicit_store_folder_is_not_resolved_through_its_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server, the CLI (--store) and TUTORNB_STORE_DIR all go through resolve_store_dir: it must
    # hand the link itself to the store (which refuses it), not the folder it points to.
    from tutornb.paths import STORE_DIR_ENV, resolve_store_dir

    monkeypatch.delenv(STORE_DIR_ENV, raising=False)
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(target, tmp_path / ".tutornb")
    assert resolve_store_dir(explicit=tmp_path / ".tutornb") == tmp_path.resolve() / ".tutornb"
    assert resolve_store_dir(tmp_path) == tmp_path.resolve() / ".tutornb"
