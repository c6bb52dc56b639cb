"""The whole learner journey in a real JupyterLab and a real browser, one visit after the other.

First visit: open a module notebook, run ``%tutor``, ask a question and watch the reply stream in
with the cells it comes from, then take a quiz question with a choice button, and close the page.
Second visit, in a fresh browser context (nothing kept on the client): re-run the cell, see the
resume offer with its preview, resume, and find the transcript and phase as they were; find the
session in the history drawer by a word from it; export it as Markdown.

Screenshots for the README go to ``docs/journey-*.png``.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import (
    STREAM_SEEN,
    WATCH_STREAMING,
    fresh_page,
    messages,
    only_session,
    open_panel,
    save_screenshot,
    send,
    session_detail,
)

NOTEBOOK = "03_functions.ipynb"
QUESTION = "What is a default argument"
# A session of another module, so the history search has something to leave out.
OTHER_CONTEXT = {
    "course_id": "python-foundations",
    "course_title": "Python foundations",
    "module_id": "lists-and-loops",
    "module_title": "Lists & loops",
    "notebook_path": "01_lists_and_loops.ipynb",
}


def _plain_start(markdown: str, length: int = 30) -> str:
    """The opening words of a message as the offer's preview shows them (Markdown marks dropped)."""
    return " ".join(re.sub(r"[*_`#>]", "", markdown).split())[:length]


@pytest.mark.browser
def test_learner_journey_across_two_visits(
    lab: Lab, lab_server: LabServer, browser: Any, browser_page: Any
) -> None:
    page = browser_page

    # Given the functions notebook open in JupyterLab, its kernel idle, and the tutor cell run
    panel = open_panel(lab, NOTEBOOK)
    expect(panel.locator("[data-tutornb='context']")).to_contain_text("Functions")
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online")
    expect(panel.locator("[data-tutornb='resume-offer']")).to_have_count(0)

    # When the learner asks a question
    page.evaluate(WATCH_STREAMING)
    send(panel, QUESTION)

    # Then the reply streams in (the page showed it part-written) and lands with its sources
    expect(messages(panel, "learner")).to_have_count(1)
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    reply = messages(panel, "tutor").first
    expect(reply).to_contain_text("default")
    expect(reply.locator(".tutornb-citations li").first).to_contain_text(
        re.compile(r"03_functions\.ipynb · cell \d+ · Default arguments")
    )
    session_id = only_session(lab_server, NOTEBOOK)
    stored_reply = session_detail(lab_server, session_id)["messages"][1]
    assert stored_reply["role"] == "tutor"
    seen = page.evaluate(STREAM_SEEN)
    # (rendered as Markdown while it streams: the partial texts grow, and no raw marker shows)
    partials = seen["partials"]
    assert len(partials) >= 2, seen
    assert all(len(a) <= len(b) + 2 for a, b in itertools.pairwise(partials)), seen
    assert not any("**" in p or "```" in p for p in partials), seen

    # When the learner asks for a quiz
    send(panel, "quiz me")

    # Then the first question comes with choice buttons, and the phase says so
    expect(messages(panel, "tutor")).to_have_count(2, timeout=30_000)
    # Pinned to its message: the next question arrives as soon as this one is answered.
    quiz = messages(panel, "tutor").nth(1).locator("[data-tutornb='quiz']")
    expect(quiz).to_be_visible()
    expect(panel.locator("[data-tutornb='phase']")).to_have_text("quizzing")
    choices = quiz.locator("[data-tutornb='choice']")
    assert choices.count() >= 2
    expect(choices.nth(1)).to_be_enabled()
    save_screenshot(panel, "journey-quiz.png")

    # When the learner answers with a choice button
    choices.nth(1).click()

    # Then the answer is the learner's turn and the tutor grades it
    expect(choices.nth(1)).to_be_disabled()
    expect(messages(panel, "learner")).to_have_count(3)
    expect(messages(panel, "learner").last).to_contain_text("B.")
    expect(messages(panel, "tutor")).to_have_count(3, timeout=30_000)
    before = session_detail(lab_server, session_id)
    assert before["message_count"] == 6
    assert before["phase"] == "quizzing"
    expect(messages(panel)).to_have_count(before["message_count"])

    # When the learner closes the page and comes back later in a fresh browser
    page.close()
    with fresh_page(browser, lab_server, "journey-second-visit") as again:
        panel = open_panel(again, NOTEBOOK)

        # Then the panel offers to resume the session with a preview of where they left off
        offer = panel.locator("[data-tutornb='resume-offer']")
        expect(offer).to_be_visible(timeout=30_000)
        expect(offer).to_have_attribute("data-session-id", session_id)
        expect(offer).to_contain_text("Resume: ")
        expect(offer).to_contain_text(before["title"])
        expect(offer).to_contain_text(f"{before['message_count']} messages")
        expect(offer).to_contain_text(re.compile(r"just now|\d+ min ago"))
        preview = offer.locator(".tutornb-preview li")
        expect(preview).to_have_count(2)
        for shown, stored in zip([preview.nth(0), preview.nth(1)], before["messages"][-2:], strict=True):
            expect(shown).to_have_attribute("data-role", stored["role"])
            expect(shown).to_contain_text(_plain_start(stored["text"]))
        save_screenshot(panel, "journey-resume.png")

        # When the learner resumes
        offer.locator("[data-tutornb='resume']").click()

        # Then the whole transcript and the phase are back, and the tutor picks up where the
        # learner stopped: the quiz question still open can be answered
        expect(offer).to_have_count(0)
        expect(panel).to_have_attribute("data-session-status", "active")
        expect(panel.locator("[data-tutornb='phase']")).to_have_text(before["phase"])
        welcome = messages(panel, "tutor").nth(3)
        expect(welcome).to_contain_text("Welcome back", timeout=30_000)
        expect(welcome).to_contain_text("still open")
        after = session_detail(lab_server, session_id)
        assert after["message_count"] == before["message_count"] + 1
        assert after["messages"][: before["message_count"]] == before["messages"]
        shown = messages(panel)
        expect(shown).to_have_count(after["message_count"])
        for index, stored in enumerate(after["messages"]):
            expect(shown.nth(index)).to_have_attribute("data-role", stored["role"])
            expect(shown.nth(index)).to_have_attribute("data-seq", str(stored["seq"]))
        expect(messages(panel, "learner").first).to_contain_text(QUESTION)
        expect(welcome.locator("[data-tutornb='choice']").first).to_be_enabled()

        # When another module's session exists and the learner searches the history drawer
        with lab_server.api() as api:
            other = api.post(
                "tutornb/api/sessions", json={"context": OTHER_CONTEXT, "title": "Loops warm-up"}
            )
        assert other.status_code == 201, other.text
        panel.locator("[data-tutornb='history']").click()
        items = panel.locator("[data-tutornb='history-item']")
        expect(items).to_have_count(2)
        search = panel.locator("[data-tutornb='history-search']")
        search.press_sequentially("default")

        # Then only the session with that word in it is left, and it is this one
        expect(items).to_have_count(1)
        expect(items.first).to_have_attribute("data-session-id", session_id)
        save_screenshot(panel, "journey-history.png")

        # And a word found in no session leaves no item
        search.fill("")
        search.press_sequentially("xylophone")
        expect(items).to_have_count(0)
        expect(panel.locator(".tutornb-history")).to_contain_text("No sessions found.")

        # When the learner exports the session as Markdown
        panel.locator("select[aria-label='Export format']").select_option("markdown")
        with again.page.expect_download() as download_info:
            panel.locator("[data-tutornb='export']").click()

        # Then a Markdown file with the whole conversation is downloaded
        download = download_info.value
        assert download.suggested_filename.endswith(".md")
        exported = Path(download.path()).read_text(encoding="utf-8")
        for stored in after["messages"]:
            assert stored["text"].split("\n")[0] in exported
