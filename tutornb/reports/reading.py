"""Reading the reports learners shared: each file either becomes a report or one clear line.

The exchange folder is written by many people with many tutornb versions, so a report may be from
a newer tutornb, cut short by a full disk, or not a report at all; each such file is named with its
problem and the rest of the class is still counted. A file is opened without following links and
without blocking (a fifo or a device swapped in for a report cannot hang the reader), must be a
regular file, and is read only up to the limit.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tutornb.reports.identity import SharedReport
from tutornb.reports.model import REPORT_FORMAT, REPORT_SCHEMA_VERSION, ProgressReport

#: A report is a few KiB; anything this large is not one.
MAX_REPORT_BYTES = 1024 * 1024
#: More files than this are not read (a class is hundreds); the summary says how many were left.
MAX_REPORT_FILES = 10_000
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Unreadable:
    path: Path
    problem: str

    def line(self) -> str:
        return f"{self.path}: {self.problem}"


def report_files(paths: Iterable[Path]) -> tuple[list[Path], list[Unreadable]]:
    """The ``.json`` files named by ``paths`` (folders: their ``.json`` files, not recursing, no
    hidden or temporary files, no symlinks)."""
    files: dict[Path, None] = {}
    missing: list[Unreadable] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            files.update(
                dict.fromkeys(
                    p
                    for p in sorted(path.iterdir())
                    if p.suffix == ".json"
                    and not p.name.startswith(".")
                    and p.is_file()
                    and not p.is_symlink()
                )
            )
        elif path.is_file() and not path.is_symlink():
            files[path] = None
        else:
            missing.append(Unreadable(path, "no such report file or folder"))
    return list(files), missing


class _NotAReport(Exception):
    pass


def _read_bounded(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` (at most the limit), and its status."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NotAReport("not a regular file; not a progress report")
        chunks: list[bytes] = []
        left = MAX_REPORT_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise _NotAReport(f"larger than {MAX_REPORT_BYTES // 1024} KiB; not a progress report")
        return b"".join(chunks), info
    finally:
        os.close(fd)


def read_report(path: Path) -> ProgressReport | Unreadable:
    found = read_shared_report(path)
    return found.report if isinstance(found, SharedReport) else found


def read_shared_report(path: Path) -> SharedReport | Unreadable:
    """The report at ``path`` with its owner and modification time, or why it is not one."""
    try:
        raw, info = _read_bounded(path)
        data = json.loads(raw)
    except _NotAReport as exc:
        return Unreadable(path, str(exc))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Unreadable(path, "a symbolic link; not followed")
        return Unreadable(path, f"cannot be read ({exc.strerror or type(exc).__name__})")
    except UnicodeDecodeError:
        return Unreadable(path, "not UTF-8 text; not a progress report")
    except ValueError as exc:
        at = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        return Unreadable(path, f"truncated or not JSON{at}; ask the learner to share it again")
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        return Unreadable(path, "wrong shape: not a tutornb progress report")
    version = data.get("schema_version")
    if isinstance(version, int) and version > REPORT_SCHEMA_VERSION:
        return Unreadable(
            path,
            f"schema_version {version} is newer than this tutornb reads "
            f"({REPORT_SCHEMA_VERSION}); upgrade tutornb",
        )
    try:
        report = ProgressReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "report"
        more = exc.error_count() - 1
        return Unreadable(
            path, f"wrong shape: {where}: {first['msg']}" + (f" (and {more} more)" if more else "")
        )
    return SharedReport(path, report, info.st_uid, info.st_mtime_ns)


def read_reports(files: list[Path], *, progress: bool = True) -> Iterator[SharedReport | Unreadable]:
    """Each file read in turn, with a progress bar on stderr when there are many."""
    if not progress or len(files) < 50:
        yield from (read_shared_report(path) for path in files)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("reading reports"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("reports", total=len(files))
        for path in files:
            yield read_shared_report(path)
            bar.advance(task)
