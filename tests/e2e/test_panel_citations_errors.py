"""A citation to another notebook, and "Ask about my last error", in a real JupyterLab.

A tutor reply citing a cell of another notebook of the course opens that notebook in the same
JupyterLab (no new browser tab) and makes the cited cell the active cell. A cell that raises makes
the empty panel offer "Ask about my last error"; the question it sends carries the failing code and
its error to the server, and the offline tutor's reply explains the error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import COURSE, Lab, LabServer

from .journey_fixtures import messages, only_session, open_panel, session_detail
from .panel_helpers import active_cell_index, import_session, skip_offer

HERE = "01_lists_and_loops.ipynb"
OTHER = "02_dictionaries.ipynb"
FAILING = '"abc"[0] = "x"'


def last_code_cell(notebook: str) -> int:
    """Index of the notebook's last code cell: far from the top, so the jump has somewhere to go."""
    cells = json.loads((COURSE / notebook).read_text(encoding="utf-8"))["cells"]
    return max(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


def import_session_citing(server: LabServer, notebook: str, cited: int) -> str:
    """A session of HERE whose tutor reply cites cell ``cited`` of ``notebook`` (through the import API)."""
    now = "2026-01-01T10:00:00Z"
    transcript = [
        {"id": "a", "seq": 1, "role": "learner", "text": "How do I read a dict?", "created_at": now,
         "client_id": "c1"},
        {"id": "b", "seq": 2, "role": "tutor", "text": "See the dictionaries notebook.",
         "created_at": now,
         "citations": [{"notebook_path": notebook, "cell_index": cited}]},
    ]  # fmt: skip
    return import_session(server, HERE, "citing", transcript)


@pytest.mark.browser
def test_a_citation_to_another_notebook_opens_it_here_at_the_cited_cell(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    cited = last_code_cell(OTHER)
    session_id = import_session_citing(lab_server, OTHER, cited)
    lab.open_notebook(HERE)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_code(f"%tutor resume {session_id}"))
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)

    # Given a reply citing a cell of another notebook: a button with an accessible name
    citation = messages(panel, "tutor").first.locator("[data-tutornb='citation']")
    expect(citation).to_have_count(1)
    assert citation.evaluate("(n) => n.localName") == "button"
    expect(citation).to_have_accessible_name(re.compile(rf"{re.escape(OTHER)} · cell {cited + 1}"))

    # When the learner presses Enter on it (JupyterLab may first ask to confirm the command)
    pages_before = len(page.context.pages)
    citation.focus()
    page.keyboard.press("Enter")
    confirm = page.locator(".jp-Dialog .jp-mod-accept")
    other_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=OTHER)
    expect(confirm.or_(other_tab).first).to_be_visible(timeout=30_000)
    if confirm.count():
        expect(page.locator(".jp-Dialog")).to_contain_text("docmanager:open")
        confirm.click()

    # Then the other notebook is open in this JupyterLab (no new tab), and the cited cell is active
    expect(other_tab).to_have_count(1, timeout=30_000)
    assert len(page.context.pages) == pages_before
    expect(lab.cells().nth(cited)).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=30_000)
    expect(lab.cells().nth(cited)).to_be_in_viewport()
    assert active_cell_index(lab) == cited
    # And the notebook with the panel is still open in its own tab
    here_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=HERE)
    expect(here_tab).to_have_count(1)

    # When the learner makes another cell of that notebook active, goes back to the panel's notebook
    # and uses the citation again
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=OTHER).click()
    lab.cells().first.click()
    expect(lab.cells().first).to_have_class(re.compile(r"\bjp-mod-active\b"))
    here_tab.click()
    expect(panel).to_be_visible()
    citation.click()

    # Then the open notebook is simply shown (no confirmation) at the cited cell
    expect(other_tab).to_have_count(1, timeout=30_000)
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    expect(lab.cells().nth(cited)).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=30_000)
    assert active_cell_index(lab) == cited


@pytest.mark.browser
def test_ask_about_my_last_error_sends_the_failing_code_and_explains_it(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    notebook = "03_functions.ipynb"
    panel = open_panel(lab, notebook)
    skip_offer(panel)
    error_suggestion = panel.locator("[data-suggestion='error']")
    expect(error_suggestion).to_have_count(0)

    # When a cell raises
    lab.run_code(FAILING)

    # Then the empty panel offers to ask about it
    expect(error_suggestion).to_be_visible(timeout=30_000)
    expect(error_suggestion).to_have_text("Ask about my last error")

    # When the learner takes the suggestion
    error_suggestion.click()
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)

    # Then the stored question carries the failing code and its error
    detail = session_detail(lab_server, only_session(lab_server, notebook))
    learner = [m for m in detail["messages"] if m["role"] == "learner"]
    assert len(learner) == 1, learner
    work = learner[0].get("work") or {}
    assert work.get("code", "").strip() == FAILING, work
    assert "TypeError" in (work.get("error") or ""), work
    assert "does not support item assignment" in (work.get("error") or ""), work

    # And the tutor's reply explains that strings cannot be changed in place
    reply = (messages(panel, "tutor").first.text_content() or "").lower()
    assert "immutable" in reply or "item assignment" in reply, reply
    assert "str" in reply, reply
