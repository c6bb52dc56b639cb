"""Who wrote a shared report, and file names that say whose it is without letting others find it.

On a shared exchange folder a report's own ``learner`` field proves nothing: anyone can write any
JSON. What a learner cannot forge is the file's owner (the kernel writes it as the learner's OS
account), so a report counts only when its owner's account name is the learner it names and the
file name says the same; one report per account, the most recently written (``generated_at`` is
the writer's claim, not evidence). Files the instructor running the class report owns are their
own collection (copied in by hand) and are taken as they are, the latest ``generated_at`` per
learner name.

Names are ``<course>__<learner>__<random>.json``: the random suffix (64 bits) makes another
learner's file unguessable in a folder nobody but the instructors can list, and the encoding of
the two name parts is injective, so ``jörg`` and ``jürg`` (or any two CJK names) never share one.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import secrets
import stat
import string
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tutornb.instructor.reports.model import ProgressReport

#: Group-readable (the folder's setgid group or a default ACL names the instructors), else private.
SHARED_MODE = 0o640
PRIVATE_MODE = 0o600
_KEPT = frozenset(string.ascii_letters + string.digits + ".-")
#: Longer encoded parts end in a hash of the whole name (file names stop at 255 bytes).
_MAX_PART = 80
_SUFFIX = re.compile(r"[0-9a-f]{16}")
_LEGACY_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")


def encode_part(text: str | None) -> str:
    """ASCII letters, digits, ``.`` and ``-`` as they are (not a leading ``.``: no hidden files),
    every other character as ``_hh`` per UTF-8 byte.

    ``_`` always starts an escape followed by a hex digit, so ``__`` cannot occur inside a part and
    separates parts, and two different names never encode alike; ``-`` alone stands for no value.
    """
    if not text:
        return "-"
    encoded = "".join(
        ch
        if ch in _KEPT and not (i == 0 and ch == ".")
        else "".join(f"_{byte:02x}" for byte in ch.encode("utf-8", "surrogatepass"))
        for i, ch in enumerate(text)
    )
    if len(encoded) <= _MAX_PART:
        return encoded
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{encoded[: _MAX_PART - 17].rstrip('_')}-{digest}"


def new_report_name(learner: str, course_id: str | None) -> str:
    return f"{encode_part(course_id)}__{encode_part(learner)}__{secrets.token_hex(8)}.json"


def legacy_report_name(learner: str, course_id: str | None) -> str:
    """The guessable ``<course>--<learner>.json`` of tutornb before round 3 (still read)."""
    parts = (course_id or "no-course", learner)
    return "--".join(_LEGACY_UNSAFE.sub("_", part).strip("._") or "_" for part in parts)[:200] + ".json"


def name_fits(name: str, learner: str, course_id: str | None) -> bool:
    prefix = f"{encode_part(course_id)}__{encode_part(learner)}__"
    if name.startswith(prefix) and name.endswith(".json"):
        return _SUFFIX.fullmatch(name[len(prefix) : -len(".json")]) is not None
    return name == legacy_report_name(learner, course_id)


def folder_problem(folder: Path) -> str | None:
    """Why reports in ``folder`` cannot be trusted: anyone may replace anyone's file in it."""
    mode = folder.stat().st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        return (
            f"the exchange folder {folder} is writable by everyone without the sticky bit, so anyone "
            f"can replace anyone's report; ask the instructor to run `chmod +t {folder}`"
        )
    return None


def _has_default_acl(folder: Path) -> bool:
    try:
        return bool(os.getxattr(folder, "system.posix_acl_default"))
    except (OSError, AttributeError):  # no ACL, a file system without them, or not Linux
        return False


def report_mode(folder: Path) -> int:
    """0640 where the instructors' group is set up (setgid folder: files get its group; or a default
    ACL naming it, whose mask the group bits are), else 0600: never readable by other learners."""
    if folder.stat().st_mode & stat.S_ISGID or _has_default_acl(folder):
        return SHARED_MODE
    return PRIVATE_MODE


@dataclass(frozen=True)
class SharedReport:
    """A report as read from the exchange, with what the file system says about its writer."""

    path: Path
    report: ProgressReport
    uid: int
    mtime_ns: int


@dataclass(frozen=True)
class NotCounted:
    path: Path
    problem: str

    def line(self) -> str:
        return f"{self.path}: {self.problem}"


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _author_problem(item: SharedReport, runner_uid: int) -> str | None:
    if item.uid == runner_uid:
        return None
    account, learner = _account(item.uid), item.report.learner
    if account != learner:
        return f"written by account {account!r} but names learner {learner!r}; not counted"
    if not name_fits(item.path.name, learner, item.report.course_id):
        course = item.report.course_id
        return f"the file name does not match learner {learner!r} and course {course!r}; not counted"
    return None


def authored_reports(
    found: Iterable[SharedReport], runner_uid: int | None = None
) -> tuple[list[ProgressReport], list[NotCounted]]:
    """The reports whose author is known, one per account and course (the latest written), and
    every other file with the reason it was not counted."""
    runner = os.geteuid() if runner_uid is None else runner_uid
    rejected: list[NotCounted] = []
    by_author: dict[tuple[str, int | str, str | None], list[SharedReport]] = defaultdict(list)
    for item in found:
        problem = _author_problem(item, runner)
        if problem is not None:
            rejected.append(NotCounted(item.path, problem))
        elif item.uid == runner:
            by_author[("name", item.report.learner, item.report.course_id)].append(item)
        else:
            by_author[("uid", item.uid, item.report.course_id)].append(item)
    chosen: list[ProgressReport] = []
    for (kind, _, _), items in by_author.items():
        if kind == "uid":  # the file system's word, not the writer's
            items.sort(key=lambda i: (i.mtime_ns, i.path.name), reverse=True)
        else:  # the instructor's own copies: copying reset their times, their content is vouched for
            items.sort(key=lambda i: (i.report.generated_at, i.path.name), reverse=True)
        chosen.append(items[0].report)
        rejected += [
            NotCounted(
                i.path, f"another report by the same account ({items[0].path.name}) is newer; not counted"
            )
            for i in items[1:]
        ]
    return chosen, rejected
