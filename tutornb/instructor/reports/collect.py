"""Collecting a class's shared reports for ``tutornb class-report``, so one bad file cannot stop it.

Every step has a cap, and every file past a cap, unreadable, of another course or of an unknown
author is counted and named, never silently merged or dropped: the files read (a class is hundreds,
:data:`~tutornb.instructor.reports.reading.MAX_REPORT_FILES` at most), the entries of one report and of the
whole class (mastery keys, quiz answers, misconceptions, questions: memory stays bounded), and the
rows of each table of the page (:data:`MAX_PAGE_ROWS`; ``class.json`` holds the same rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tutornb.instructor.reports.classview import ClassView
from tutornb.instructor.reports.identity import NotCounted, SharedReport, authored_reports, folder_problem
from tutornb.instructor.reports.model import ProgressReport
from tutornb.instructor.reports.reading import MAX_REPORT_FILES, Unreadable, read_reports, report_files

#: One learner's report of a whole course holds a few hundred entries.
MAX_REPORT_ENTRIES = 10_000
#: Entries of the whole class kept in memory (1,000 learners of a large course fit many times).
MAX_CLASS_ENTRIES = 2_000_000
#: Rows per table of the class view (objectives, quiz questions, misconceptions, uncovered questions).
MAX_PAGE_ROWS = 1_000


class CollectError(ValueError):
    """Why no class view can be made (one line)."""


@dataclass
class Collection:
    course_id: str | None = None
    reports: list[ProgressReport] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    not_counted: list[NotCounted] = field(default_factory=list)
    #: Reports of other courses, per course id ("" for none).
    other_courses: Counter[str] = field(default_factory=Counter)
    files_over_cap: int = 0
    rows_over_cap: int = 0


def report_entries(report: ProgressReport) -> int:
    return sum(
        1 + len(m.mastery) + len(m.quiz) + len(m.misconceptions) + len(m.uncovered) for m in report.modules
    )


def _read(files: list[Path], progress: bool, found: Collection) -> list[SharedReport]:
    read: list[SharedReport] = []
    total = 0
    for result in read_reports(files, progress=progress):
        if isinstance(result, Unreadable):
            found.unreadable.append(result)
            continue
        entries = report_entries(result.report)
        if entries > MAX_REPORT_ENTRIES:
            found.unreadable.append(
                Unreadable(result.path, f"{entries} entries, more than a report holds ({MAX_REPORT_ENTRIES})")
            )
        elif total + entries > MAX_CLASS_ENTRIES:
            found.unreadable.append(
                Unreadable(result.path, f"over the class's cap of {MAX_CLASS_ENTRIES} entries; not read")
            )
        else:
            total += entries
            read.append(result)
    return read


def _choose_course(reports: list[ProgressReport], wanted: str | None) -> str | None:
    if wanted is not None:
        return wanted or None
    counts = Counter(r.course_id or "" for r in reports).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        tied = sorted(c or "-" for c, n in counts if n == counts[0][1])
        raise CollectError(f"as many reports of courses {', '.join(tied)}: choose one with --course")
    return (counts[0][0] or None) if counts else None


def collect(paths: Iterable[Path], course: str | None, *, progress: bool = True) -> Collection:
    """The authored reports of one course (``course``, else the course most reports are of)."""
    paths = list(paths)
    for path in paths:
        if path.is_dir() and (problem := folder_problem(path)) is not None:
            raise CollectError(f"{problem}; nothing read")
    files, missing = report_files(paths)
    found = Collection(unreadable=list(missing))
    found.files_over_cap = max(0, len(files) - MAX_REPORT_FILES)
    authored, found.not_counted = authored_reports(_read(files[:MAX_REPORT_FILES], progress, found))
    found.course_id = _choose_course(authored, course)
    for report in authored:
        if (report.course_id or None) == found.course_id:
            found.reports.append(report)
        else:
            found.other_courses[report.course_id or ""] += 1
    return found


def cap_view(view: ClassView) -> tuple[ClassView, int]:
    """``view`` with at most :data:`MAX_PAGE_ROWS` rows per table (the most-learner rows kept), and
    how many rows were left out."""
    kept = {id(o) for o in sorted(view.objectives, key=lambda o: -o.learners)[:MAX_PAGE_ROWS]}
    topics, kept_questions, dropped = [], 0, 0
    for topic in view.uncovered.topics:
        room = max(0, MAX_PAGE_ROWS - kept_questions)
        dropped += max(0, len(topic.questions) - room)
        if room:
            topics.append(topic.model_copy(update={"questions": topic.questions[:room]}))
            kept_questions += min(room, len(topic.questions))
    dropped += sum(
        max(0, len(rows) - MAX_PAGE_ROWS) for rows in (view.objectives, view.quiz, view.misconceptions)
    )
    capped = view.model_copy(
        update={
            "objectives": [o for o in view.objectives if id(o) in kept],
            "quiz": view.quiz[:MAX_PAGE_ROWS],
            "misconceptions": view.misconceptions[:MAX_PAGE_ROWS],
            "uncovered": view.uncovered.model_copy(update={"topics": topics}),
        }
    )
    return capped, dropped
