"""Showing and sharing a learner's report: the preview is the exact document that gets written.

The exchange folder works like nbgrader's: learners drop files in, one per learner and course
(``<course>--<learner>--<random>.json``, see :mod:`tutornb.instructor.reports.identity`), and a re-share
replaces that file atomically, so the instructor never reads half a report and a failed re-share
leaves the previous one in place. The learner cannot list the folder, so the name of their file is
remembered in their own state folder (``$XDG_STATE_HOME/tutornb``, private).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path

from tutornb.atomicfile import replace_file
from tutornb.instructor.reports.identity import PRIVATE_MODE, folder_problem, new_report_name, report_mode
from tutornb.instructor.reports.model import ProgressReport
from tutornb.paths import EXCHANGE_DIR_ENV

__all__ = ["EXCHANGE_DIR_ENV", "PRIVATE_MODE", "ShareError", "preview_text", "render_report", "share_report"]


class ShareError(ValueError):
    """Why a report could not be shared (one line; nothing already shared is touched)."""


def render_report(report: ProgressReport) -> bytes:
    """The bytes written to disk, and shown in the preview: what the learner sees is what is shared."""
    return (json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def preview_text(report: ProgressReport) -> str:
    """A short reading of the report followed by the exact document that will be shared."""
    lines = [f"This report will be shared as learner {report.learner!r}, course {report.course_id or '-'}:"]
    for module in report.modules:
        answered = sum(1 for q in module.quiz)
        right = sum(1 for q in module.quiz if q.first_correct)
        minutes = module.time_active_seconds / 60
        lines.append(
            f"- {module.module_title or module.module_id or '(no module)'}: phase {module.phase.value}, "
            f"{minutes:.0f} min active, quiz {right}/{answered} right first time, "
            f"{len(module.mastery)} objectives assessed, {sum(m.count for m in module.misconceptions)} "
            f"misconceptions, {module.uncovered_count} questions the material did not cover"
        )
    if report.includes_questions:
        lines.append("The text of your questions the material did not cover IS included.")
    else:
        lines.append("The text of your questions is NOT included (only how many there were).")
    lines += ["", "Exactly this document will be written:", render_report(report).decode("utf-8")]
    return "\n".join(lines)


def exchange_folder(configured: str | os.PathLike[str] | None) -> Path:
    """The exchange folder, checked: it must exist, be a folder and be writable."""
    if not configured:
        raise ShareError(
            "no exchange folder is configured (TutorNBApp.exchange_dir); ask your instructor, "
            "or save the report with `tutornb progress -o FILE.json`"
        )
    folder = Path(configured).expanduser()
    if not folder.exists():
        raise ShareError(f"the exchange folder {folder} does not exist; ask your instructor to create it")
    if not folder.is_dir():
        raise ShareError(f"the exchange folder {folder} is not a folder")
    return folder


def _names_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "tutornb" / "shared-reports.json"


def _remembered(key: str) -> dict[str, str]:
    try:
        names = json.loads(_names_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in names.items() if isinstance(v, str)} if isinstance(names, dict) else {}


def _target(folder: Path, report: ProgressReport) -> tuple[Path, str]:
    """This learner's earlier file in ``folder`` if it is still theirs, else a new unguessable name."""
    key = "\0".join((str(folder.resolve()), report.course_id or "", report.learner))
    name = _remembered(key).get(key)
    if name and "/" not in name and not name.startswith("."):
        with contextlib.suppress(OSError):
            info = (folder / name).lstat()
            if info.st_uid == os.geteuid() and not (folder / name).is_symlink():
                return folder / name, key
    return folder / new_report_name(report.learner, report.course_id), key


def _remember(key: str, name: str) -> None:
    """Best effort: without it a re-share adds a file, and the reader keeps the newest per account."""
    path = _names_file()
    names = _remembered(key)
    names[key] = name
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_file(path, json.dumps(names, ensure_ascii=False).encode("utf-8"), mode=PRIVATE_MODE)


def share_report(report: ProgressReport, configured: str | os.PathLike[str] | None) -> Path:
    """Writes the report into the exchange folder, replacing this learner's previous one."""
    folder = exchange_folder(configured)
    problem = folder_problem(folder)
    if problem is not None:
        raise ShareError(f"{problem}; nothing was shared")
    target, key = _target(folder, report)
    try:
        replace_file(target, render_report(report), mode=report_mode(folder))
    except PermissionError:
        raise ShareError(
            f"the exchange folder {folder} is not writable for you; nothing was shared"
        ) from None
    except OSError as exc:
        reason = "it is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise ShareError(
            f"could not write to the exchange folder {folder} ({reason}); nothing was shared"
        ) from None
    _remember(key, target.name)
    return target
