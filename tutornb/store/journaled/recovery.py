"""Opening the store: the snapshot plus the journals that continue it, recovering from damage.

Nothing is ever deleted: a damaged snapshot is moved aside as ``<name>.<UTC time>.corrupt`` and a
damaged journal copied aside, then the store is rebuilt from what checks out (the backup snapshot and
the journals) and written out healthy at once. Each thing recovery had to do is noted in words
(``Journal.note``) for ``/status`` and ``tutornb doctor``.
"""

from __future__ import annotations

import json

from tutornb.store import files
from tutornb.store.files import JOURNAL, JOURNAL_PREV, SNAPSHOT, SNAPSHOT_BAK, Damaged
from tutornb.store.journaled.compaction import write_generation
from tutornb.store.journaled.journal import Journal
from tutornb.store.journaled.tables import Tables


def load(journal: Journal, tables: Tables) -> None:
    """Rebuilds memory from disk (under the exclusive lock), recovering whatever is damaged."""
    folder = journal.folder
    notes: list[str] = []
    snap_data = files.read_bytes(folder / SNAPSHOT)
    journal_data = files.read_bytes(folder / JOURNAL)
    if snap_data is None and journal_data is None and not files.exists(folder / SNAPSHOT_BAK):
        _initialize(journal, tables)
        return
    base_gen: int | None = None
    snapshot_tables: dict[str, bytes] = {}
    used_backup = False
    try:
        if snap_data is None:
            raise Damaged("snapshot is missing")
        base_gen, snapshot_tables = files.decode_snapshot(snap_data)
    except Damaged as damage:
        moved = files.move_aside(folder, SNAPSHOT)
        where = f"; moved aside as {moved}" if moved else ""
        try:
            bak = files.read_backup(folder / SNAPSHOT_BAK)
            if bak is None:
                raise Damaged("no backup") from None
            base_gen, snapshot_tables = files.decode_snapshot(bak)
            used_backup = True
            notes.append(
                f"{SNAPSHOT} was damaged ({damage}){where}; recovered from {SNAPSHOT_BAK} and the journals"
            )
        except Damaged as bak_damage:
            notes.append(
                f"{SNAPSHOT} was damaged ({damage}){where} and the backup was unusable "
                f"({bak_damage}); recovered what the journals hold"
            )
    prev_read = None
    if used_backup or base_gen is None:
        # The previous journal only matters when the current snapshot could not be used.
        try:
            prev_data = files.read_backup(folder / JOURNAL_PREV)
        except Damaged:
            prev_data = None
        if prev_data is not None:
            prev_read = files.read_journal(prev_data)
    cur_read = files.read_journal(journal_data) if journal_data is not None else None
    if base_gen is None:
        candidates = [r.generation for r in (prev_read, cur_read) if r and r.generation is not None]
        base_gen = min(candidates) if candidates else 0
        snapshot_tables = {}
    # Install the base state, then replay the journals that continue it, in order.
    tables.install(snapshot_tables)
    gen = base_gen
    base_is_snapshot = snap_data is not None and not used_backup and not notes
    # The previous journal is already inside the current snapshot; it only matters when recovering
    # from the backup (or from nothing), which is one generation older.
    if prev_read is not None and prev_read.generation == gen and not base_is_snapshot:
        _replay(tables, prev_read, notes, JOURNAL_PREV)
        gen += 1
    need_fresh_journal = False
    if cur_read is None:
        if snap_data is not None and not used_backup and base_gen > 0:
            notes.append(f"{JOURNAL} was missing; started a new one")
        need_fresh_journal = True
    elif cur_read.header_damaged:
        moved = files.copy_aside(folder, JOURNAL)
        notes.append(f"{JOURNAL} had a damaged header; kept a copy as {moved} and replayed its entries")
        _replay(tables, cur_read, notes, JOURNAL)
        need_fresh_journal = True
    elif cur_read.generation == gen:
        _replay(tables, cur_read, notes, JOURNAL)
        if cur_read.damaged_lines:
            moved = files.copy_aside(folder, JOURNAL)
            notes.append(
                f"{JOURNAL} had {cur_read.damaged_lines} damaged entr"
                f"{'y' if cur_read.damaged_lines == 1 else 'ies'}, skipped; kept a copy as {moved}"
            )
            need_fresh_journal = True
    elif cur_read.generation is not None and cur_read.generation < gen:
        # A crash between replacing the snapshot and the journal: the journal is already included.
        need_fresh_journal = True
    else:
        moved = files.copy_aside(folder, JOURNAL)
        notes.append(
            f"{JOURNAL} did not continue the snapshot (generation {cur_read.generation}, "
            f"expected {gen}); replayed it anyway and kept a copy as {moved}"
        )
        _replay(tables, cur_read, notes, JOURNAL)
        need_fresh_journal = True
    journal.generation = gen
    tables.new_epoch()
    journal.broken = False
    for note in notes:
        journal.note(note)
    if notes or used_backup or (need_fresh_journal and snap_data is None):
        # Make the store healthy again at once: a fresh snapshot (also as the backup) and journal.
        write_generation(journal, tables, gen + 1, backup_copy=True)
    elif need_fresh_journal:
        journal.open_fresh(gen)
    else:
        assert cur_read is not None
        journal.open_existing(cur_read)
    tables.notify(None, None, None, None)


def _replay(tables: Tables, read: files.JournalRead, notes: list[str], label: str) -> None:
    for _, payload in read.entries:
        try:
            ops = json.loads(payload)
            tables.apply_ops(ops, notify=False)
        except (ValueError, TypeError, IndexError, KeyError, Damaged):
            notes.append(f"{label} held an unreadable entry; skipped it")


def _initialize(journal: Journal, tables: Tables) -> None:
    """A new, empty store: generation 0."""
    files.atomic_write(journal.folder, SNAPSHOT, files.snapshot_header(0, 0))
    files.atomic_write(journal.folder, JOURNAL, files.journal_header(0))
    tables.install({})
    journal.generation = 0
    tables.new_epoch()
    journal.broken = False
    journal.reopen_files()
    tables.notify(None, None, None, None)
