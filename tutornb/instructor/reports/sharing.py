"""``%tutor share``: preview first, then write exactly what was previewed.

``%tutor share [--include-questions]`` shows the report; ``%tutor share --confirm`` writes it into
the exchange folder, but only if it is still the report the learner last saw. If it changed in the
meantime (more study, a different consent flag), the new one is shown instead and must be confirmed
again: nothing the learner has not seen is ever shared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NoReturn

from tutornb.hublink import relay_configured
from tutornb.instructor.reports.build import ReportError, build_report
from tutornb.instructor.reports.exchange import ShareError, render_report, share_report
from tutornb.instructor.reports.hubshare import HubShareError, upload_report
from tutornb.instructor.reports.model import ProgressReport
from tutornb.instructor.reports.preview import show_preview
from tutornb.paths import EXCHANGE_DIR_ENV

_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
USAGE = "usage: %tutor share [--include-questions] [--confirm]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(f"{message}\n{USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="%tutor share", add_help=False)
    parser.add_argument("--include-questions", action="store_true")
    parser.add_argument("--confirm", action="store_true")
    return parser


def _fingerprint(report: ProgressReport) -> str:
    """The report's content without its timestamp: what the learner agreed to."""
    body = render_report(report.model_copy(update={"generated_at": _EPOCH}))
    return hashlib.sha256(body).hexdigest()


class ShareFlow:
    """The per-kernel memory of the last preview, so ``--confirm`` writes only what was shown."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._previewed: str | None = None

    def __call__(
        self, args: list[str], call: Callable[[Callable[[Any], Any]], Any], course_id: str | None
    ) -> None:
        try:
            opts = _parser().parse_args(args)
            report: ProgressReport = call(
                lambda service: build_report(
                    service.store,
                    learner=self.owner,
                    owner=self.owner,
                    course_id=course_id,
                    include_questions=opts.include_questions,
                )
            )
        except (ReportError, ValueError) as exc:
            print(f"tutornb: {exc}", file=sys.stderr)
            return
        fingerprint = _fingerprint(report)
        if not opts.confirm or fingerprint != self._previewed:
            self._previewed = fingerprint
            show_preview(report)
            again = (
                "" if not opts.confirm else "This differs from the report you saw last (or you saw none). "
            )
            flag = " --include-questions" if opts.include_questions else ""
            print(f"{again}Nothing is shared yet: run `%tutor share{flag} --confirm` to share exactly this.")
            return
        if relay_configured():  # a hub service: it stores the report under the hub user's name
            try:
                learner = upload_report(report)
            except HubShareError as exc:
                print(f"tutornb: {exc}", file=sys.stderr)
                return
            self._previewed = None
            print(f"Shared your progress report with the course's tutornb service (as {learner}).")
            return
        try:
            target = share_report(report, os.environ.get(EXCHANGE_DIR_ENV))
        except ShareError as exc:
            print(f"tutornb: {exc}", file=sys.stderr)
            return
        self._previewed = None
        print(f"Shared your progress report as {target.name} in the course's exchange folder.")
