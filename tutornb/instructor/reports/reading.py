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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tutornb.instructor.reports.identity import SharedReport
from tutornb.instructor.reports.model import REPORT_FORMAT, REPORT_SCHEMA_VERSION, ProgressReport
from tutornb.saferead import NotARegularFile, TooLarge, read_limited

#: A report is a few KiB; anything this large is not one.
MAX_REPORT_BYTES = 1024 * 1024
#: More files than this are not read (a class is hundreds); the summary says how many were left.
MAX_REPORT_FILES = 10_000


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


def read_report(path: Path) -> ProgressReport | Unreadable:
    found = read_shared_report(path)
    return found.report if isinstance(found, SharedReport) else found


def read_shared_report(path: Path) -> SharedReport | Unreadable:
    """The report at ``path`` with its owner and modification time, or why it is not one."""
    try:
        raw, info = read_limited(path, MAX_REPORT_BYTES)
        data = json.loads(raw)
    except NotARegularFile:
        return Unreadable(path, "not a regular file; not a progress report")
    except TooLarge:
        return Unreadable(path, f"larger than {MAX_REPORT_BYTES // 1024} KiB; not a progress report")
    except RecursionError:
        return Unreadable(path, "nested too deeply; not a progress report")
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
