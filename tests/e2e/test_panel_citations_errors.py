"""A citation to another notebook, the code actions, and "Ask about my last error", in a real JupyterLab.

The page asks its host (the JupyterLab extension) to show a cited cell or insert code with DOM events
(docs/architecture.md, "Page <-> host events"), never with JupyterLab's CommandLinker (which asks an
untrusted notebook's learner to confirm the command). These tests stand in for the host with a listener on
``window`` that sees the event first: it either handles it or hides it from every host, so what the page
does in both cases is tested whatever extensions are installed (the extension's own handling is tested
with it). A cell that raises makes the empty panel offer "Ask about my last error"; the question it sends
carries the failing code and its error to the server, and the offline tutor's reply explains the error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import COURSE, Lab, LabServer
from .journey_fixtures import messages, only_session, open_panel, session_detail
from .panel_helpers import import_session, skip_offer

HERE = "01_lists_and_loops.ipynb"
OTHER = "02_dictionaries.ipynb"
FAILING = '"abc"[0] = "x"'


def last_code_cell(notebook: str) -> int:
    """Index of the notebook's last code cell: far from the top, so the jump has somewhere to go."""
    cells = json.loads((COURSE / notebook).read_text(encoding="utf-8"))["cells"]
    return max(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


def import_session_citing(server: LabServer, notebook: str, cited: int) -> str:
    """A session of HERE whose tutor reply cites cell ``cited`` of ``notebook`` and shows a code block,
    after a learner message carrying code of its own (through the import API)."""
    now = "2026-01-01T10:00:00Z"
    transcript = [
        {"id": "a", "seq": 1, "role": "learner", "text": "How do I read a dict?", "created_at": now,
         "client_id": "c1", "work": {"cell_index": 2, "code": "d = {}\nd['x']"}},
        {"id": "b", "seq": 2, "role": "tutor",
         "text": "See the dictionaries notebook:\n\n```python\nprint(d.get('x'))\n```",
         "created_at": now,
         "citations": [{"notebook_path": notebook, "cell_index": cited}]},
    ]  # fmt: skip
    return import_session(server, HERE, "citing", transcript)


# The host's side of the contract, played by the test: a capturing listener on window runs before any host
# (hosts listen on document), records each event, and either handles it (preventDefault) or not; in both
# cases no real host sees it.
HOST_STANDIN = """([names, handle]) => {
  window.__tnbEvents = window.__tnbEvents || [];
  for (const name of names) {
    const key = `__tnbStandin:${name}`;
    if (window[key]) window.removeEventListener(name, window[key], true);
    window[key] = (event) => {
      const { bubbles, composed, cancelable } = event;
      window.__tnbEvents.push({ name, detail: event.detail, bubbles, composed, cancelable });
      if (handle) event.preventDefault();
      event.stopImmediatePropagation();
    };
    window.addEventListener(name, window[key], true);
  }
}"""
EVENTS = "() => window.__tnbEvents.splice(0)"
FLAGS = {"bubbles": True, "composed": True, "cancelable": True}


@pytest.mark.browser
def test_a_citation_asks_the_host_and_without_one_names_the_other_notebook(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    cited = last_code_cell(OTHER)
    session_id = import_session_citing(lab_server, OTHER, cited)
    lab.open_notebook(HERE)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_code(f"%tutor resume {session_id}"))
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    reply = messages(panel, "tutor").first

    # Given a reply citing a cell of another notebook: a button with an accessible name, and no
    # CommandLinker attribute anywhere in the panel
    citation = reply.locator("[data-tutornb='citation']")
    expect(citation).to_have_count(1)
    assert citation.evaluate("(n) => n.localName") == "button"
    expect(citation).to_have_accessible_name(re.compile(rf"{re.escape(OTHER)} · cell {cited + 1}"))
    assert (
        panel.evaluate(
            "(p) => Array.from(p.querySelectorAll('*')).some((n) => n.getAttributeNames().some("
            "(a) => a.startsWith('data-commandlinker')))"
        )
        is False
    )

    # When the learner presses Enter on it and a host handles the event
    page.evaluate(HOST_STANDIN, [["tutornb:navigate"], True])
    citation.focus()
    page.keyboard.press("Enter")

    # Then the host was asked for that cell (counted from 0), and the page did nothing else
    page.wait_for_function("() => window.__tnbEvents.length > 0")
    detail = {"notebook_path": OTHER, "cell_index": cited}
    assert page.evaluate(EVENTS) == [{"name": "tutornb:navigate", "detail": detail, **FLAGS}]
    expect(citation).to_have_count(1)
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    # When no host handles it
    page.evaluate(HOST_STANDIN, [["tutornb:navigate"], False])
    pages_before = len(page.context.pages)
    citation.click()

    # Then the citation becomes text naming the notebook and cell: nothing opens, nothing asks to confirm
    named = reply.locator(".tutornb-citation-text")
    expect(named).to_have_text(f"{OTHER} · cell {cited + 1}")
    expect(reply.locator("[data-tutornb='citation']")).to_have_count(0)
    assert page.evaluate(EVENTS) == [{"name": "tutornb:navigate", "detail": detail, **FLAGS}]
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    other_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=OTHER)
    expect(other_tab).to_have_count(0)
    assert len(page.context.pages) == pages_before


@pytest.mark.browser
def test_insert_asks_the_host_and_only_tutor_code_offers_it(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    session_id = import_session_citing(lab_server, OTHER, 0)
    lab.open_notebook(HERE)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_code(f"%tutor resume {session_id}"))
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    reply = messages(panel, "tutor").first

    # Given the tutor's code block and the learner's own code: Insert only on the tutor's, and no Replace
    # in a panel no host mounted (nothing could replace a cell)
    expect(reply.locator("[data-tutornb='insert']")).to_have_count(1)
    expect(messages(panel, "learner").first.locator("pre")).to_have_count(1)
    expect(messages(panel, "learner").first.locator("[data-tutornb='insert']")).to_have_count(0)
    expect(panel.locator("[data-tutornb='replace']")).to_have_count(0)
    cells_before = lab.cells().count()

    # When the learner presses Insert below and a host handles it
    page.evaluate(HOST_STANDIN, [["tutornb:insert-code"], True])
    reply.locator("[data-tutornb='insert']").click()

    # Then the host got the code to insert below, and the page added no cell itself
    page.wait_for_function("() => window.__tnbEvents.length > 0")
    code = "print(d.get('x'))\n"
    assert page.evaluate(EVENTS) == [
        {"name": "tutornb:insert-code", "detail": {"code": code, "mode": "below"}, **FLAGS}
    ]
    expect(panel.locator("[data-tutornb='error']")).to_have_count(0)
    assert lab.cells().count() == cells_before


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
