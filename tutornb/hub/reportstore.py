"""Reports learners sent to the service: one current report per learner and course.

The author is the hub user whose token sent it, never a field of the document: whatever name the
JSON carries is replaced by the sender's before the report is stored. Each report is a file under
``<data_dir>/reports/<course>/`` (written atomically, private to the service's account) and stays in
memory for the live class view.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from pydantic import ValidationError

from tutornb.atomicfile import replace_file
from tutornb.course.ids import checked_course_id
from tutornb.instructor.reports.exchange import render_report
from tutornb.instructor.reports.identity import encode_part
from tutornb.instructor.reports.model import REPORT_FORMAT, REPORT_SCHEMA_VERSION, ProgressReport
from tutornb.instructor.reports.reading import MAX_REPORT_BYTES, Unreadable, read_report

PRIVATE_MODE = 0o600


class ReportRejected(ValueError):
    """Why an uploaded report was not stored (one line; the learner's previous one is kept)."""


def parse_upload(body: bytes) -> ProgressReport:
    if len(body) > MAX_REPORT_BYTES:
        raise ReportRejected(f"a report is at most {MAX_REPORT_BYTES // 1024 // 1024} MiB")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ReportRejected("the body is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise ReportRejected("not a tutornb progress report")
    version = data.get("schema_version")
    if isinstance(version, int) and version > REPORT_SCHEMA_VERSION:
        raise ReportRejected(f"schema_version {version} is newer than this service reads; upgrade it")
    try:
        return ProgressReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "report"
        raise ReportRejected(f"wrong shape: {where}: {first['msg']}") from None


class ReportStore:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "reports"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._reports: dict[str, dict[str, ProgressReport]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.unreadable: list[Unreadable] = []
        self._load()

    def _load(self) -> None:
        for course_dir in sorted(self.folder.iterdir()):
            if not course_dir.is_dir() or course_dir.is_symlink():
                continue
            for path in sorted(course_dir.glob("*.json")):
                if path.is_symlink():
                    continue
                found = read_report(path)
                if isinstance(found, Unreadable):
                    self.unreadable.append(found)
                elif found.course_id:
                    self._reports.setdefault(found.course_id, {})[found.learner] = found

    async def put(self, course_id: str, author: str, report: ProgressReport) -> ProgressReport:
        """Stores ``report`` as ``author``'s current one for ``course_id`` (the sender decides the
        name and the URL decides the course, whatever the document says).

        The durable write (fsync) runs in a worker thread so uploads of different learners wait on
        the disk together; one learner's uploads are written one after the other, so the file and
        the memory agree on which is current."""
        if report.course_id not in (None, course_id):
            raise ReportRejected(f"the report is for course {report.course_id!r}, not {course_id!r}")
        stored = report.model_copy(update={"learner": author, "course_id": course_id})
        folder = self.folder / checked_course_id(course_id)
        # The service's folder is its own (no learner lists or guesses it): one collision-free name
        # per author, the same encoding as the exchange's.
        target = folder / f"{encode_part(author)}.json"
        lock = self._locks.setdefault((course_id, author), asyncio.Lock())
        async with lock:
            await asyncio.get_running_loop().run_in_executor(None, _write, target, render_report(stored))
            self._reports.setdefault(course_id, {})[author] = stored
        if not lock.locked():
            self._locks.pop((course_id, author), None)
        return stored

    def course(self, course_id: str) -> list[ProgressReport]:
        return [r for _, r in sorted(self._reports.get(course_id, {}).items())]

    def get(self, course_id: str, learner: str) -> ProgressReport | None:
        return self._reports.get(course_id, {}).get(learner)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(exist_ok=True, mode=0o700)
    replace_file(target, data, mode=PRIVATE_MODE)


def private_umask() -> None:
    """Files the service creates are its own: learners' accounts cannot read them."""
    os.umask(0o077)
