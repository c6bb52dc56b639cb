"""``%tutor share`` on a hub: the report goes to the ``tutornb-hub`` service through this server's
relay (the service stores it under the hub user of the token, whatever the file says)."""

from __future__ import annotations

import os

import httpx

from tutornb.hublink import RELAY_KEY_ENV, RELAY_URL_ENV
from tutornb.instructor.reports.exchange import render_report
from tutornb.instructor.reports.model import ProgressReport


class HubShareError(ValueError):
    """Why a report did not reach the service (one line; nothing stored there is touched)."""


def upload_report(report: ProgressReport) -> str:
    """Sends ``report`` through the relay (from a kernel); the name the service stored it under."""
    if not report.course_id:
        raise HubShareError("the notebook names no course (metadata.tutornb.course_id); nothing was shared")
    url = os.environ[RELAY_URL_ENV].rstrip("/") + f"/courses/{report.course_id}/reports"
    try:
        response = httpx.post(
            url,
            content=render_report(report),
            headers={"Authorization": f"Bearer {os.environ[RELAY_KEY_ENV]}"},
            timeout=30,
        )
    except httpx.HTTPError:
        raise HubShareError("the course's tutornb service could not be reached; nothing was shared") from None
    if response.status_code != 201:
        try:
            message = str(response.json().get("message", ""))[:300]
        except ValueError:
            message = f"HTTP {response.status_code}"
        raise HubShareError(f"the course's tutornb service refused the report ({message})")
    return str(response.json().get("learner", ""))
