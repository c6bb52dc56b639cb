"""Panel and session fixes of issue 19, in the Tutor sidebar (the same page code as the in-notebook panel):

- quiz letters work as the question says, with the cursor still in the (empty) message box;
- opening the session on screen from History never pauses it;
- a closed session shows "closed" alone, not beside a phase badge.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, send
from .lab_helpers import open_sidebar
from .panel_helpers import open_quiz

HERE = "03_functions.ipynb"


def fresh_panel(lab: Lab) -> Any:
    """The sidebar's panel on a new session of HERE (an earlier test's session is set aside)."""
    lab.open_notebook(HERE)
    panel = open_sidebar(lab).locator("[data-tutornb='panel']")
    offer = panel.locator("[data-tutornb='resume-offer']")
    greeting = panel.locator(".tutornb-greeting")
    expect(offer.or_(greeting)).to_be_visible(timeout=30_000)
    if offer.count():
        offer.locator("[data-tutornb='new-session']").click()
    expect(greeting).to_be_visible()
    return panel


def session_status(server: LabServer, session_id: str) -> str:
    with server.api() as api:
        return str(api.get(f"tutornb/api/sessions/{session_id}").json()["status"])


@pytest.mark.browser
def test_quiz_letters_answer_from_the_empty_message_box(lab: Lab) -> None:
    panel = fresh_panel(lab)
    quiz = open_quiz(panel)
    expect(quiz).to_contain_text("Press A, B")
    question = quiz.get_attribute("data-question-id")
    box = panel.locator("[data-tutornb='input']")
    box.focus()
    assert box.input_value() == ""
    learner_before = messages(panel, "learner").count()

    lab.page.keyboard.press("b")

    answered = panel.locator(f"[data-tutornb='quiz'][data-question-id='{question}']")
    expect(answered.locator("[data-tutornb='choice'][data-chosen='true']")).to_have_attribute(
        "data-choice", "1"
    )
    expect(messages(panel, "learner")).to_have_count(learner_before + 1)
    assert box.input_value() == ""

    # With text in the box, a letter is just a letter
    box.focus()
    lab.page.keyboard.type("why b")
    assert box.input_value() == "why b"


@pytest.mark.browser
def test_history_never_pauses_the_session_on_screen_and_closed_shows_only_closed(
    lab: Lab, lab_server: LabServer
) -> None:
    panel = fresh_panel(lab)
    send(panel, "What does return do?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    expect(panel).to_have_attribute("data-session-status", "active")
    with lab_server.api() as api:
        listing = api.get("tutornb/api/sessions", params={"notebook_path": HERE, "status": "active"}).json()
    [current] = [s for s in listing["sessions"] if s["message_count"] == 2]
    session_id = current["id"]

    # Opening the session on screen from History
    panel.locator("[data-tutornb='history']").click()
    item = panel.locator(f"[data-tutornb='history-item'][data-session-id='{session_id}']")
    expect(item).to_be_visible(timeout=30_000)
    item.click()
    expect(item).to_be_hidden()
    send(panel, "And a default argument?")
    expect(messages(panel, "tutor")).to_have_count(2, timeout=30_000)
    expect(panel).to_have_attribute("data-session-status", "active")
    assert session_status(lab_server, session_id) == "active"

    # Closed: the badge says "closed" and no phase is shown beside it
    panel.locator("[data-tutornb='close']").click()
    panel.locator("[data-action='confirm-close']").click()
    expect(panel).to_have_attribute("data-session-status", "closed")
    expect(panel.locator(".tutornb-session-state")).to_have_text("closed")
    expect(panel.locator("[data-tutornb='phase']")).to_be_hidden()
    assert session_status(lab_server, session_id) == "closed"
