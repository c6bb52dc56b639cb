"""The service's report store on disk: the sender is the author, one current report per learner
and course, a bad upload changes nothing, and a restarted service has every report back."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tutornb.hub.reportstore import ReportRejected, ReportStore, parse_upload


def _body(learner: str, course: str | None = "py101", **extra: Any) -> bytes:
    report = {
        "format": "tutornb.progress",
        "schema_version": 1,
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "learner": learner,
        "course_id": course,
        "modules": [],
        **extra,
    }
    return json.dumps(report).encode()


def test_reports_are_stored_under_the_sender_and_survive_a_restart(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    stored = asyncio.run(store.put("py101", "ann", parse_upload(_body("somebody-else"))))
    assert stored.learner == "ann"
    asyncio.run(store.put("py101", "ann", parse_upload(_body("ann", course_title="second"))))
    files = list((tmp_path / "reports" / "py101").iterdir())
    assert [f.name for f in files] == ["ann.json"]  # one file per author, named by the sender
    assert files[0].stat().st_mode & 0o777 == 0o600
    again = ReportStore(tmp_path)
    reports = again.course("py101")
    assert [(r.learner, r.course_title) for r in reports] == [("ann", "second")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "not a tutornb progress report"),
        (_body("ann", schema_version=99), "schema_version 99 is newer"),
        (_body("ann", modules=[{"phase": "sleeping"}]), "wrong shape: modules.0"),
    ],
)
def test_a_bad_upload_is_refused_with_its_reason(body: bytes, reason: str) -> None:
    with pytest.raises(ReportRejected, match=reason):
        parse_upload(body)


def test_a_report_for_another_course_is_refused_and_the_current_one_kept(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    asyncio.run(store.put("py101", "ann", parse_upload(_body("ann", course_title="kept"))))
    with pytest.raises(ReportRejected, match="for course 'other'"):
        asyncio.run(store.put("py101", "ann", parse_upload(_body("ann", course="other"))))
    current = store.get("py101", "ann")
    assert current is not None
    assert current.course_title == "kept"
