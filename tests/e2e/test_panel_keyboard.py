"""The panel with a keyboard, in a real JupyterLab: keys stay in the panel, focus follows actions,
letters answer quiz questions, and Close asks first.

Issue #12: with a panel button focused, ``b`` inserted a notebook cell and ``d d`` deleted the cell
holding the panel; ``b`` on quiz choice A inserted a cell and sent nothing; arrows on a closed
drop-down moved to the next cell; focus dropped to ``<body>`` after each action.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, open_panel, send
from .panel_helpers import FOCUSED, active_cell_index, cell_count, open_quiz

NOTEBOOK = "02_dictionaries.ipynb"


@pytest.mark.browser
def test_keys_stay_in_the_panel_and_focus_follows_every_action(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    panel = open_panel(lab, NOTEBOOK)
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online")
    cells = cell_count(lab)

    # Given a panel button with focus (the notebook around it is in command mode)
    panel.locator("[data-tutornb='history']").focus()
    active = active_cell_index(lab)

    # When the learner presses JupyterLab's notebook shortcuts there
    page.keyboard.press("b")
    page.keyboard.press("a")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("j")

    # Then no cell was inserted or deleted and the active cell did not move: the panel is intact
    page.wait_for_timeout(300)
    assert cell_count(lab) == cells
    assert active_cell_index(lab) == active
    expect(panel).to_have_count(1)

    # And arrow keys on the (closed) export drop-down change its value, not the notebook's cell
    fmt = panel.locator("select[aria-label='Export format']")
    fmt.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(200)
    assert active_cell_index(lab) == active
    assert cell_count(lab) == cells

    # When the learner sends a message with Enter
    send(panel, "How do I get a value from a dictionary without a KeyError?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)

    # Then focus stays in the input box, ready for the next question
    assert page.evaluate(FOCUSED) == "input"

    # When the learner pauses with the keyboard
    panel.locator("[data-tutornb='pause']").focus()
    page.keyboard.press("Enter")

    # Then the session shows as paused and focus is on Resume
    expect(panel).to_have_attribute("data-session-status", "paused")
    expect(panel.locator(".tutornb-paused")).to_be_visible()
    expect(panel.locator(".tutornb-session-state")).to_have_text("paused")
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'resume'")

    # When the learner resumes (Enter on the focused Resume)
    page.keyboard.press("Enter")

    # Then the session is active again and focus is back in the input box
    expect(panel).to_have_attribute("data-session-status", "active")
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'input'")

    # When a quiz question is open and the learner presses "b" on choice A
    quiz = open_quiz(panel)
    question = quiz.get_attribute("data-question-id")
    choices = quiz.locator("[data-tutornb='choice']")
    assert choices.count() >= 2
    # (each choice appears once: as a button, not also as a list in the text)
    first_choice = (choices.first.locator("span").nth(2).text_content() or "").strip()
    assert quiz.locator("xpath=..").locator(".tutornb-body li", has_text=first_choice).count() == 0
    cells = cell_count(lab)
    learner_before = messages(panel, "learner").count()
    choices.first.focus()
    page.keyboard.press("b")

    # Then it answers B (no cell inserted), the chosen answer is marked right or wrong
    answered = panel.locator(f"[data-tutornb='quiz'][data-question-id='{question}']")
    expect(messages(panel, "learner")).to_have_count(learner_before + 1)
    expect(messages(panel, "learner").last).to_contain_text("B.")
    assert cell_count(lab) == cells
    chosen = answered.locator("[data-tutornb='choice'][data-chosen='true']")
    expect(chosen).to_have_attribute("data-choice", "1")
    expect(chosen).to_have_attribute("data-result", re.compile("^(right|wrong)$"), timeout=30_000)
    expect(chosen).to_contain_text(re.compile("right|wrong"))

    # And focus moves to the next question's first choice (or the input box when the quiz is over)
    page.wait_for_function(
        """(answered) => {
             const a = document.activeElement;
             if (!a) return false;
             if (a.getAttribute('data-tutornb') === 'input') return true;
             const quiz = a.closest('[data-tutornb="quiz"]');
             return a.getAttribute('data-tutornb') === 'choice' && quiz &&
                    quiz.getAttribute('data-question-id') !== answered;
           }""",
        arg=question,
        timeout=30_000,
    )

    # When the learner opens the history drawer
    panel.locator("[data-tutornb='history']").click()

    # Then focus is in its search box; Escape closes it and gives focus back to the History button
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'history-search'")
    page.keyboard.press("Escape")
    expect(panel.locator(".tutornb-history")).to_be_hidden()
    assert page.evaluate(FOCUSED) == "history"

    # When the learner opens a session from the history
    panel.locator("[data-tutornb='history']").click()
    panel.locator("[data-tutornb='history-item']").first.click()

    # Then focus is in the input box
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'input'")

    # When the learner presses Close
    panel.locator("[data-tutornb='close']").click()

    # Then nothing is closed yet: the panel asks, with focus on the safe answer; "Keep it" keeps it
    confirm = panel.locator(".tutornb-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("for good")
    assert page.evaluate(FOCUSED) == "cancel-close"
    page.keyboard.press("Enter")
    expect(confirm).to_have_count(0)
    expect(panel).not_to_have_attribute("data-session-status", "closed")
    assert page.evaluate(FOCUSED) == "close"

    # When the learner confirms closing
    panel.locator("[data-tutornb='close']").click()
    panel.locator("[data-action='confirm-close']").click()

    # Then the session is closed and focus is on New session
    expect(panel).to_have_attribute("data-session-status", "closed")
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'new-session'")

    # When the learner starts a new session
    page.keyboard.press("Enter")

    # Then the panel greets them with suggestions, and focus is in the input box
    expect(panel.locator(".tutornb-greeting")).to_be_visible()
    expect(panel.locator(".tutornb-suggestion")).to_have_count(3)
    page.wait_for_function("() => document.activeElement?.getAttribute('data-tutornb') === 'input'")
