"""The panel when the disk refuses a write: the learner sees why, the message waits in the outbox, and
it is delivered exactly once when the disk accepts writes again.

The failure is real: the store's journal is made immutable (``chattr +i``), so the server's append
fails with EPERM inside the kernel's filesystem code, exactly where a full or read-only disk fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import IN_CI
from tests.support.lab import Lab, LabServer

from .journey_fixtures import open_panel, send

NOTEBOOK = "02_dictionaries.ipynb"


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


@pytest.fixture
def chattr() -> None:
    if shutil.which("chattr") is None:
        if IN_CI:
            pytest.fail("chattr (e2fsprogs) is needed to make the store's disk refuse writes")
        pytest.skip("chattr is not installed")


@pytest.mark.browser
@pytest.mark.usefixtures("chattr")
def test_a_failing_disk_shows_an_error_and_keeps_the_message_until_it_is_stored(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    # Given a chat that has stored one exchange
    panel = open_panel(lab, NOTEBOOK)
    send(panel, "How do I read a value from a dictionary?")
    tutor = panel.locator("[data-tutornb='message'][data-role='tutor']:not([data-streaming='true'])")
    expect(tutor).to_have_count(1, timeout=30_000)
    journal = lab_server.root / ".tutornb" / "journal.jsonl"
    before = journal.read_bytes()

    # When the disk refuses writes to the store and the learner sends a message
    _immutable(journal, True)
    try:
        send(panel, "What does get() return for a missing key")
        # Then the panel says the store could not keep it, and the message waits, marked unsent
        error = panel.locator("[data-tutornb='error']")
        expect(error).to_have_attribute("data-code", "STORE_UNAVAILABLE")
        waiting = panel.locator("[data-tutornb='message'][data-pending='true']")
        expect(waiting).to_contain_text("What does get() return for a missing key")
        session_id = browser_page.evaluate(
            "() => Object.keys(localStorage).find((k) => k.startsWith('tutornb:outbox:'))"
        )
        assert session_id, "the unsent message is kept in localStorage"
        # And nothing already stored was touched
        assert journal.read_bytes() == before
    finally:
        _immutable(journal, False)

    # When the disk accepts writes again (the panel retries by itself)
    # Then the message is stored exactly once and the error goes away
    expect(waiting).to_have_count(0, timeout=30_000)
    expect(error).to_have_count(0)
    with lab_server.api() as api:
        listing = api.get("tutornb/api/sessions", params={"notebook_path": NOTEBOOK}).json()
        detail = api.get(f"tutornb/api/sessions/{listing['sessions'][0]['id']}").json()
    learner = [m["text"] for m in detail["messages"] if m["role"] == "learner"]
    assert learner == [
        "How do I read a value from a dictionary?",
        "What does get() return for a missing key",
    ]
