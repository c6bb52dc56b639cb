"""The panel when the server refuses a message for now: the error shows, the message waits in the
outbox, and it is delivered (once) when the server accepts again.

The server runs with a tiny rate limit (bursts of 2, one message every 5 s) so a learner typing
fast gets ``RATE_LIMITED`` for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer, running_lab

from .journey_fixtures import open_panel, send

NOTEBOOK = "03_functions.ipynb"


@pytest.fixture(scope="module")
def lab_server() -> Iterator[LabServer]:
    limits = ["--TutorNBApp.rate_limit_burst=2", "--TutorNBApp.rate_limit_per_minute=12"]
    with running_lab(extra_args=limits) as server:
        yield server


@pytest.mark.browser
def test_a_rate_limited_message_waits_in_the_outbox_and_is_delivered_once(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    # Given a chat in the functions notebook on a server allowing bursts of two messages
    panel = open_panel(lab, NOTEBOOK)
    learner = panel.locator("[data-tutornb='message'][data-role='learner']")
    send(panel, "What is a function?")
    expect(learner.and_(panel.locator(":not([data-pending='true'])"))).to_have_count(1)

    # When the learner sends two more at once
    send(panel, "What does return do?")
    send(panel, "What is a default argument?")

    # Then the third is refused for now: the error says why and the message waits, marked unsent
    error = panel.locator("[data-tutornb='error']")
    expect(error).to_have_attribute("data-code", "RATE_LIMITED")
    waiting = panel.locator("[data-tutornb='message'][data-pending='true']")
    expect(waiting).to_have_attribute("data-failed", "true")
    expect(waiting).to_contain_text("What is a default argument?")

    # When the limit lets it through (the panel retries by itself)
    # Then it is stored exactly once and the error goes away
    expect(waiting).to_have_count(0, timeout=30_000)
    expect(error).to_have_count(0)
    with lab_server.api() as api:
        sessions = api.get("tutornb/api/sessions", params={"notebook_path": NOTEBOOK}).json()
        detail = api.get(f"tutornb/api/sessions/{sessions['sessions'][0]['id']}").json()
    texts = [m["text"] for m in detail["messages"] if m["role"] == "learner"]
    assert texts == ["What is a function?", "What does return do?", "What is a default argument?"]
