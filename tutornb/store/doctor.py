"""``tutornb doctor``: inspect a store's files without changing them, and repair it on request.

The inspection re-reads the snapshot, backup and journals the way opening the store would, and
checks the
sessions against their transcripts, but writes nothing. Repair opens the store (which recovers
damaged
files from the backup and journals, moving them aside), fixes derived counts, and writes a fresh
snapshot.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tutornb.errors import StoreVersionError
from tutornb.models import SCHEMA_VERSION
from tutornb.paths import default_owner
from tutornb.store import archive, files
from tutornb.store.files import JOURNAL, JOURNAL_PREV, SNAPSHOT, SNAPSHOT_BAK, Damaged
from tutornb.store.layout import (
    ARCHIVE_PREFIX,
    MESSAGES_PREFIX,
    META,
    SESSION_TABLE_PREFIXES,
    SESSIONS,
    SessionWriter,
    previews,
    session_doc,
)
from tutornb.store.sessions import SessionStore

Level = Literal["ok", "info", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


def _journal_findings(
    name: str, data: bytes | None, snapshot_gen: int | None, current: bool
) -> tuple[list[Finding], files.JournalRead | None]:
    if data is None:
        if current:
            return [Finding("warning", f"{name} is missing (it is recreated on open)")], None
        return [], None
    read = files.read_journal(data)
    out: list[Finding] = []
    if read.header_damaged:
        out.append(Finding("error", f"{name}: damaged header"))
    else:
        out.append(Finding("ok", f"{name}: generation {read.generation}, {len(read.entries)} entries"))
    if read.damaged_lines:
        out.append(Finding("error", f"{name}: {read.damaged_lines} damaged entries"))
    if read.torn:
        out.append(
            Finding(
                "info",
                f"{name}: a torn last line (a write cut short by a crash, never acknowledged); "
                "it is dropped on the next write",
            )
        )
    if current and snapshot_gen is not None and read.generation is not None:
        if read.generation < snapshot_gen:
            out.append(Finding("info", f"{name} is older than the snapshot (an interrupted compaction)"))
        elif read.generation > snapshot_gen:
            out.append(Finding("error", f"{name} does not continue the snapshot"))
    return out, read


def _apply(tables: dict[str, dict[str, Any]], read: files.JournalRead) -> None:
    for _, payload in read.entries:
        for op in json.loads(payload):
            kind, name = op[0], op[1]
            if kind == "put":
                tables.setdefault(name, {})[op[2]] = op[3]
            elif kind == "del":
                tables.setdefault(name, {}).pop(op[2], None)
            elif kind == "clear":
                tables[name] = {}
            elif kind == "drop":
                tables.pop(name, None)


def _consistency(tables: dict[str, dict[str, Any]]) -> list[Finding]:
    out: list[Finding] = []
    meta = tables.get(META, {}).get("1")
    if meta is None:
        out.append(Finding("warning", "no schema version recorded (set on next open)"))
    elif meta.get("schema_version") != SCHEMA_VERSION:
        level: Level = "error" if meta.get("schema_version", 0) > SCHEMA_VERSION else "info"
        out.append(Finding(level, f"schema version {meta.get('schema_version')}"))
    else:
        out.append(Finding("ok", f"schema version {SCHEMA_VERSION}"))
    sessions = tables.get(SESSIONS, {})
    ids = set()
    problems = 0
    messages = 0
    for doc in sessions.values():
        sid = doc.get("id")
        ids.add(sid)
        live = tables.get(f"{MESSAGES_PREFIX}{sid}")
        packed = tables.get(f"{ARCHIVE_PREFIX}{sid}", {}).get("1")
        if live:
            seqs = sorted(int(k) for k in live)
            count = len(seqs)
            if seqs != list(range(1, count + 1)):
                problems += 1
                out.append(Finding("error", f"session {sid}: message seqs are not 1..{count}"))
        elif packed is not None:
            try:
                count = len(archive.unpack(packed))
            except (ValueError, KeyError):
                problems += 1
                out.append(Finding("error", f"session {sid}: unreadable compressed transcript"))
                continue
        else:
            count = 0
        messages += count
        if doc.get("message_count") != count:
            problems += 1
            out.append(
                Finding(
                    "warning",
                    f"session {sid}: message_count {doc.get('message_count')} but {count} stored",
                )
            )
    for name in tables:
        prefix, sid = _owning_session(name)
        if prefix in SESSION_TABLE_PREFIXES and sid not in ids:
            problems += 1
            out.append(Finding("warning", f"table {name} belongs to no session"))
    if not problems:
        out.append(Finding("ok", f"{len(sessions)} sessions, {messages} messages, all consistent"))
    return out


def _owning_session(table: str) -> tuple[str, str]:
    """(``"messages/"``-style prefix, session id) of a per-session table; ("", "") otherwise."""
    head, slash, sid = table.partition("/")
    return (head + slash, sid) if sid else ("", "")


def _read_prev(path: Path) -> bytes | None:
    try:
        return files.read_backup(path / JOURNAL_PREV)
    except Damaged:
        return b"garbled"


def check_store(path: Path) -> list[Finding]:
    """Read-only inspection; nothing on disk changes."""
    out: list[Finding] = []
    if not path.is_dir():
        return [Finding("error", "no store folder here")]
    mode = path.stat().st_mode & 0o777
    if mode != files.DIR_MODE:
        out.append(Finding("warning", f"store folder permissions are {mode:o}, expected 700"))
    for item in sorted(path.iterdir()):
        if item.is_file() and item.stat().st_mode & 0o077:
            out.append(Finding("warning", f"{item.name} is readable by others"))
        if item.name.endswith(".corrupt"):
            out.append(Finding("info", f"{item.name}: a damaged file kept aside by an earlier repair"))
    if (path / "tutornb.json").exists():
        out.append(Finding("info", "a tutornb 0.0 store (schema 1): migrated on next open"))
    snapshot_gen: int | None = None
    tables: dict[str, dict[str, Any]] = {}
    base_ok = False
    try:
        data = files.read_bytes(path / SNAPSHOT)
        if data is None:
            raise Damaged("missing")
        snapshot_gen, raw = files.decode_snapshot(data)
        tables = {name: json.loads(body) for name, body in raw.items()}
        base_ok = True
        out.append(Finding("ok", f"{SNAPSHOT}: generation {snapshot_gen}, {len(raw)} tables"))
    except StoreVersionError as exc:
        return [*out, Finding("error", exc.message)]
    except (Damaged, ValueError) as exc:
        out.append(Finding("error", f"{SNAPSHOT}: {exc}"))
    try:
        bak = files.read_backup(path / SNAPSHOT_BAK)
    except Damaged:
        bak = b""
    if bak is not None:
        try:
            bak_gen, bak_raw = files.decode_snapshot(bak)
            out.append(Finding("ok", f"{SNAPSHOT_BAK}: generation {bak_gen}"))
            if not base_ok:
                tables = {name: json.loads(body) for name, body in bak_raw.items()}
                snapshot_gen = bak_gen
        except (Damaged, ValueError, StoreVersionError) as exc:
            out.append(Finding("warning", f"{SNAPSHOT_BAK}: unusable ({exc})"))
    elif not base_ok:
        out.append(Finding("error", "no usable backup snapshot"))
    prev_findings, prev = _journal_findings(JOURNAL_PREV, _read_prev(path), snapshot_gen, False)
    cur_findings, cur = _journal_findings(JOURNAL, files.read_bytes(path / JOURNAL), snapshot_gen, True)
    out += prev_findings + cur_findings
    try:
        if not base_ok and prev is not None and prev.generation == snapshot_gen:
            _apply(tables, prev)
        if cur is not None and not cur.header_damaged:
            _apply(tables, cur)
        out += _consistency(tables)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):
        out.append(Finding("error", "journal entries could not be replayed"))
    return out


def repair_store(path: Path) -> list[Finding]:
    """Opens the store (recovering damaged files), fixes derived fields, writes a fresh snapshot."""
    out: list[Finding] = []
    store = SessionStore(path, background_compaction=False)
    try:
        for note in store.storage.recovered:
            out.append(Finding("warning", f"recovered: {note}"))
        fixed = fix_derived(store)
        out += [Finding("warning", f"fixed: {item}") for item in fixed]
        store.compact()
        out.append(Finding("ok", "wrote a fresh snapshot and backup"))
    finally:
        store.close()
    for leftover in (f"{SNAPSHOT}.tmp", f"{JOURNAL}.tmp", f"{SNAPSHOT_BAK}.tmp"):
        if (path / leftover).exists():
            os.unlink(path / leftover)
            out.append(Finding("info", f"removed a leftover {leftover}"))
    return out


def fix_derived(store: SessionWriter) -> list[str]:
    """Recomputes message counts and previews; gives orphaned transcripts a session again."""
    fixed: list[str] = []
    with store.batch():
        sessions = store.table_docs(SESSIONS)
        known = {doc["id"]: key for key, doc in sessions.items()}
        for sid, key in list(known.items()):
            docs = store.message_docs(sid)
            doc = sessions[key]
            if doc.get("message_count") != len(docs):
                store.update_doc(SESSIONS, int(key), {"message_count": len(docs), "preview": previews(docs)})
                fixed.append(f"session {sid}: message count set to {len(docs)}")
        for name in sorted(store.table_names()):
            prefix, sid = _owning_session(name)
            if prefix in (MESSAGES_PREFIX, ARCHIVE_PREFIX) and sid not in known:
                docs = store.message_docs(sid)
                first = docs[0]["created_at"] if docs else "1970-01-01T00:00:00+00:00"
                last = docs[-1]["created_at"] if docs else first
                store.insert_doc(
                    SESSIONS,
                    session_doc(
                        sid,
                        default_owner(),
                        status="closed" if prefix == ARCHIVE_PREFIX else "paused",
                        phase="learning",
                        context={},
                        title="Recovered session",
                        created_at=first,
                        updated_at=last,
                        last_active_at=last,
                        messages=docs,
                    ),
                )
                known[sid] = "?"
                fixed.append(f"transcript {sid} had no session: restored it as 'Recovered session'")
    return fixed
