"""Low-level file handling for the store: private files, checksummed lines, atomic replacement.

Nothing here follows a symbolic link: another local user who can plant a name in the store folder
must not make us truncate, write or chmod a file elsewhere. Store files are opened with
``O_NOFOLLOW``, temp files are created exclusively (``O_CREAT|O_EXCL``), and ``open_store_folder``
refuses a folder that is a link, belongs to someone else, or holds anything but plain files and
folders.

Every function here calls ``os.write``/``os.fsync``/``os.replace`` through the ``os`` module (never
a ``from os import``), so fault-injection tests can wrap them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import time
import zlib
from pathlib import Path
from typing import Any

from tutornb.errors import StoreError, StoreFolderUnsafe, StoreVersionError

SNAPSHOT = "snapshot.jsonl"
SNAPSHOT_BAK = "snapshot.jsonl.bak"
JOURNAL = "journal.jsonl"
JOURNAL_PREV = "journal.jsonl.prev"
LOCK = "store.lock"

SNAPSHOT_FORMAT = "tutornb.snapshot"
JOURNAL_FORMAT = "tutornb.journal"
#: Version of the on-disk framing (snapshot and journal). A newer one is refused, never "repaired".
FORMAT_VERSION = 1

FILE_MODE = 0o600
DIR_MODE = 0o700


class Damaged(Exception):
    """A store file failed its checks; the message says why (no paths)."""


#: Flags for every open of a store file: never through a link, never inherited by a child process.
_SAFE = os.O_CLOEXEC | os.O_NOFOLLOW


def open_store_folder(folder: Path) -> None:
    """Creates the store folder private (0700), or checks an existing one is safe to use.

    Refused (``StoreFolderUnsafe``, nothing changed): a folder that is a symbolic link, is not a
    folder, belongs to another user, or holds a symbolic link, fifo, socket or device.
    """
    try:
        os.lstat(folder)
    except FileNotFoundError:
        folder.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, DIR_MODE)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _SAFE)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise StoreFolderUnsafe(
                "The store folder is a symbolic link or not a folder: refusing to use it."
            ) from exc
        raise
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            raise StoreFolderUnsafe("The store folder belongs to another user: refusing to use it.")
        for entry in os.scandir(fd):
            kind = entry.stat(follow_symlinks=False).st_mode
            if not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
                raise StoreFolderUnsafe(
                    f"The store folder holds {entry.name!r}, which is not a plain file: refusing to use it."
                )
        # mkdir's mode is filtered by the umask and ignored for an existing folder: set it explicitly
        # (through the descriptor, so a folder swapped for a link meanwhile is not what gets chmod'ed).
        os.fchmod(fd, DIR_MODE)
    finally:
        os.close(fd)


def open_private(path: Path, flags: int) -> int:
    """Opens a store file (never through a link); a file it creates is private (0600)."""
    try:
        fd = os.open(path, flags | _SAFE, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_refused(path) from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _link_refused(path)
        if flags & (os.O_WRONLY | os.O_RDWR):
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _link_refused(path: Path) -> StoreFolderUnsafe:
    return StoreFolderUnsafe(f"The store file {path.name!r} is not a plain file: refusing to use it.")


def unlink_own_file(path: Path) -> None:
    """Removes ``path`` if it is a plain file of ours (a stale temp file); a link or another user's
    file is refused, never removed or followed; a missing one is fine."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        raise _link_refused(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def create_exclusive(path: Path) -> int:
    """A new private file at ``path`` for writing, created exclusively after removing a stale one."""
    unlink_own_file(path)
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)


def exists(path: Path) -> bool:
    """Whether the name exists (a link counts: it is not followed)."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - a regular file never returns 0 for a non-empty write
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _SAFE)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_synced(path: Path, data: bytes) -> None:
    """Writes a whole private file and fsyncs it (the caller renames it into place)."""
    fd = create_exclusive(path)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(folder: Path, name: str, data: bytes) -> None:
    """Temp file + fsync + ``os.replace`` + fsync of the folder: readers see the old or the new
    file."""
    tmp = folder / f"{name}.tmp"
    try:
        write_file_synced(tmp, data)
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(OSError, StoreError):
            unlink_own_file(tmp)
        raise
    fsync_dir(folder)


def read_bytes_and_inode(path: Path) -> tuple[bytes, int]:
    """A store file's contents and inode (``FileNotFoundError`` when missing; never through a link)."""
    fd = open_private(path, os.O_RDONLY)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(), os.fstat(fd).st_ino
    finally:
        os.close(fd)


def read_bytes(path: Path) -> bytes | None:
    try:
        return read_bytes_and_inode(path)[0]
    except FileNotFoundError:
        return None


GZIP_MAGIC = b"\x1f\x8b"


def read_backup(path: Path) -> bytes | None:
    """A backup file (previous snapshot or journal), transparently gunzipped."""
    data = read_bytes(path)
    if data is None or not data.startswith(GZIP_MAGIC):
        return data
    try:
        return zlib.decompress(data, wbits=31)
    except zlib.error as exc:
        raise Damaged("backup does not decompress") from exc


def _aside_name(folder: Path, name: str) -> str:
    """A free ``<name>.<UTC time>[-n].corrupt`` in ``folder``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = f"{name}.{stamp}.corrupt"
    counter = 1
    while exists(folder / target):
        counter += 1
        target = f"{name}.{stamp}-{counter}.corrupt"
    return target


def move_aside(folder: Path, name: str) -> str | None:
    """Renames a damaged file to ``<name>.<UTC time>.corrupt`` so nothing is deleted; returns the
    new name."""
    source = folder / name
    if not exists(source):
        return None
    target = _aside_name(folder, name)
    os.replace(source, folder / target)
    fsync_dir(folder)
    return target


def copy_aside(folder: Path, name: str) -> str | None:
    """Like :func:`move_aside` but keeps the original (used for a journal that is still being
    written)."""
    source = folder / name
    data = read_bytes(source)
    if data is None:
        return None
    target = _aside_name(folder, name)
    write_file_synced(folder / target, data)
    fsync_dir(folder)
    return target


def link_or_copy(source: Path, target: Path) -> None:
    """Makes ``target`` hold ``source``'s contents, atomically (hard link when possible)."""
    tmp = target.with_name(target.name + ".tmp")
    unlink_own_file(tmp)
    try:
        # The link itself, never what a link points to (``follow_symlinks=False``).
        os.link(source, tmp, follow_symlinks=False)
    except OSError:
        data = read_bytes(source)
        if data is None:
            raise
        write_file_synced(tmp, data)
    os.replace(tmp, target)


# ---------------------------------------------------------------------------------
# Line framing: "<crc32 as 8 hex digits> <payload>\n". A line without its newline or with a wrong
# checksum
# was torn by a crash (when last) or damaged (anywhere else).


def frame(payload: bytes) -> bytes:
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def unframe(line: bytes) -> bytes | None:
    """The payload of one line (without its newline), or None when the checksum does not match."""
    if len(line) < 9 or line[8:9] != b" ":
        return None
    try:
        expected = int(line[:8], 16)
    except ValueError:
        return None
    payload = line[9:]
    if zlib.crc32(payload) != expected:
        return None
    return payload


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is (so a case-folded search over raw text stays sound)."""
    # One shared encoder: ``json.dumps`` with options builds a new one per call.
    return _ENCODER.encode(value)


def to_bytes(text: str) -> bytes:
    # Lone surrogates can arrive through JSON ("\ud800"); keep them rather than failing the write.
    return text.encode("utf-8", "surrogatepass")


def snapshot_header(generation: int, tables: int) -> bytes:
    header = {
        "format": SNAPSHOT_FORMAT,
        "format_version": FORMAT_VERSION,
        "generation": generation,
        "tables": tables,
    }
    return frame(to_bytes(dumps(header)))


def encode_table_line(name: str, raw_table: bytes) -> bytes:
    return frame(to_bytes(dumps(name)) + b"\t" + raw_table)


def journal_header(generation: int) -> bytes:
    header = {"format": JOURNAL_FORMAT, "format_version": FORMAT_VERSION, "generation": generation}
    return frame(to_bytes(dumps(header)))


def _check_header(payload: bytes | None, expected_format: str) -> dict[str, Any]:
    if payload is None:
        raise Damaged("header checksum mismatch")
    try:
        header = json.loads(payload)
    except ValueError as exc:
        raise Damaged("header is not JSON") from exc
    if not isinstance(header, dict) or header.get("format") != expected_format:
        raise Damaged("not a tutornb file")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise Damaged("bad format version")
    if version > FORMAT_VERSION:
        raise StoreVersionError(
            f"This store was written by a newer tutornb (file format {version}, this version reads "
            f"{FORMAT_VERSION}). Upgrade tutornb to open it; nothing was changed."
        )
    generation = header.get("generation")
    if not isinstance(generation, int) or generation < 0:
        raise Damaged("bad generation")
    return header


def decode_snapshot(data: bytes) -> tuple[int, dict[str, bytes]]:
    """Checks every line of a snapshot; returns its generation and each table's raw JSON (parsed
    lazily). Checksums run over a memoryview, so each table's bytes are copied once."""
    if data[-1:] != b"\n":
        raise Damaged("snapshot is truncated")
    first = data.find(b"\n")
    header = _check_header(unframe(data[:first]), SNAPSHOT_FORMAT)
    count = header.get("tables")
    if not isinstance(count, int) or count < 0:
        raise Damaged("snapshot table count is invalid")
    view = memoryview(data)
    tables: dict[str, bytes] = {}
    pos = first + 1
    size = len(data)
    index = 0
    while pos < size:
        index += 1
        end = data.find(b"\n", pos)
        if end - pos < 9 or data[pos + 8] != 0x20:
            raise Damaged(f"snapshot line {index} is malformed")
        try:
            expected = int(data[pos : pos + 8], 16)
        except ValueError:
            raise Damaged(f"snapshot line {index} is malformed") from None
        if zlib.crc32(view[pos + 9 : end]) != expected:
            raise Damaged(f"snapshot line {index} checksum mismatch")
        tab = data.find(b"\t", pos + 9, end)
        if tab < 0:
            raise Damaged(f"snapshot line {index} is malformed")
        name_json = data[pos + 9 : tab]
        try:
            # Table names are plain strings: skip the JSON parser unless there is an escape.
            if b"\\" not in name_json and name_json[:1] == b'"' and name_json[-1:] == b'"':
                name = name_json[1:-1].decode("utf-8", "surrogatepass")
            else:
                name = json.loads(name_json)
        except ValueError as exc:
            raise Damaged(f"snapshot line {index} has a bad table name") from exc
        if not isinstance(name, str):
            raise Damaged(f"snapshot line {index} has a bad table name")
        tables[name] = data[tab + 1 : end]
        pos = end + 1
    view.release()
    if index != count:
        raise Damaged("snapshot table count does not match")
    return header["generation"], tables


def snapshot_generation(data: bytes) -> int:
    """Generation from a snapshot's first line only (cheap check while following another
    process)."""
    end = data.find(b"\n")
    if end < 0:
        raise Damaged("snapshot is truncated")
    header = _check_header(unframe(data[:end]), SNAPSHOT_FORMAT)
    return int(header["generation"])


class JournalRead:
    """A journal file as found on disk: its generation, valid entries and what was wrong with it."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.header_length = 0
        #: (end offset, payload) of each valid entry, in order.
        self.entries: list[tuple[int, bytes]] = []
        #: Offset just after the last valid line (where a torn tail starts).
        self.valid_end = 0
        self.torn = False
        self.damaged_lines = 0
        self.header_damaged = False


def read_journal(data: bytes) -> JournalRead:
    result = JournalRead()
    first = data.find(b"\n")
    if first < 0:
        result.torn = bool(data)
        result.header_damaged = True
        return result
    try:
        header = _check_header(unframe(data[:first]), JOURNAL_FORMAT)
        result.generation = int(header["generation"])
    except Damaged:
        result.header_damaged = True
    result.header_length = first + 1
    pos = first + 1
    result.valid_end = pos
    size = len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            result.torn = True  # no newline: a write cut short by a crash
            break
        payload = unframe(data[pos:end])
        if payload is None:
            if data.find(b"\n", end + 1) < 0 and not data[end + 1 :].strip():
                result.torn = True  # a damaged last line was never acknowledged either
                break
            result.damaged_lines += 1
        else:
            result.entries.append((end + 1, payload))
            result.valid_end = end + 1
        pos = end + 1
    return result


def describe_os_error(exc: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EFBIG: "the file size limit was reached",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EIO: "an I/O error occurred",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission was denied",
        errno.EPERM: "permission was denied",
    }
    return reasons.get(exc.errno or 0, "an operating-system error occurred")


def store_error(exc: OSError, action: str = "save the change") -> StoreError:
    return StoreError(f"The session store could not {action}: {describe_os_error(exc)}. Nothing was lost.")
