"""Acting on the tutor's answers in a real JupyterLab, and the panel's accessibility in every state.

A citation jumps to its cell, code blocks copy and insert as a new cell, the chat docks to the
window, "jump to latest" appears when the learner has scrolled up, a second live panel on one
session points to the first, an imported message's HTML cannot reach the page beyond the server's
allowlist, a signed-out page says so, and axe-core finds no serious or critical violation in five
panel states, light and dark.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, open_panel, send
from .panel_helpers import (
    FOCUSED,
    ChatSockets,
    active_cell_index,
    axe_violations,
    cell_count,
    cell_source,
    import_session,
    open_quiz,
    set_theme,
    skip_offer,
    tutor_cell_index,
)

NOTEBOOK = "01_lists_and_loops.ipynb"
QUESTION = "How do I loop over a list and get the index of each item?"
CHAT_SOCKET = re.compile(r"/tutornb/api/sessions/[^/?]+/chat(\?.*)?$")


@pytest.fixture
def light_theme(lab_server: LabServer) -> Iterator[None]:
    yield
    set_theme(lab_server, "JupyterLab Light")


@pytest.mark.browser
def test_citation_copy_insert_dock_jump_to_latest_and_one_live_panel(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url.rstrip("/"))
    panel = open_panel(lab, NOTEBOOK)

    # Given a tutor reply with citations and a code block
    send(panel, QUESTION)
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    reply = messages(panel, "tutor").first
    citation = reply.locator("[data-tutornb='citation']").first
    expect(citation).to_have_text(re.compile(r"01_lists_and_loops\.ipynb · cell \d+"))
    expect(reply.locator("time")).to_have_count(1)
    cited = int(citation.get_attribute("data-cell") or "-1")
    assert cited >= 0

    # When the learner clicks the citation
    citation.click()

    # Then the notebook shows that cell, and it is the active cell
    expect(lab.cells().nth(cited)).to_have_class(re.compile(r"\bjp-mod-active\b"))
    expect(lab.cells().nth(cited)).to_be_in_viewport()
    assert active_cell_index(lab) == cited

    # When the learner copies the reply's code block
    code = reply.locator(".tutornb-code pre").first
    expected = (code.text_content() or "").strip()
    assert "enumerate" in expected
    reply.locator("[data-tutornb='copy']").first.click()

    # Then the clipboard holds exactly that code
    expect(reply.locator("[data-tutornb='copy']").first).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()").strip() == expected

    # When the learner inserts it as a new cell below
    before = cell_count(lab)
    tutor_at = tutor_cell_index(lab)
    reply.locator("[data-tutornb='insert']").first.click()

    # Then a code cell right below the panel's cell holds the code, ready to run
    expect(lab.cells()).to_have_count(before + 1)
    inserted = lab.cells().nth(tutor_at + 1)
    expect(inserted).to_have_class(re.compile(r"\bjp-CodeCell\b"))
    page.wait_for_function(
        """([index, code]) => {
             const cell = document.querySelectorAll(
               '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[index];
             const text = Array.from(cell.querySelectorAll('.jp-InputArea .cm-line'))
               .map((l) => l.textContent).join('\\n');
             return text.trim() === code;
           }""",
        arg=[tutor_at + 1, expected],
    )
    assert cell_source(lab, tutor_at + 1).strip() == expected

    # When the learner docks the chat and scrolls the notebook back to the top
    panel.locator("[data-tutornb='dock']").click()
    docked = page.locator("body > [data-tutornb='panel'].tutornb-docked")
    expect(docked).to_have_count(1)
    expect(docked.locator("[data-tutornb='dock']")).to_have_attribute("aria-pressed", "true")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").evaluate(
        "(n) => { n.scrollTop = 0; }"
    )
    expect(lab.cells().first).to_be_in_viewport()

    # Then the chat stays in view, with the whole conversation, and can still be used
    expect(docked).to_be_in_viewport()
    assert docked.evaluate("(n) => getComputedStyle(n).position") == "fixed"
    expect(messages(docked, "tutor")).to_have_count(1)

    # When the learner scrolls the conversation up and more replies arrive
    send(docked, "Show me an example of list slicing")
    expect(messages(docked, "tutor")).to_have_count(2, timeout=30_000)
    log = docked.locator("[data-tutornb='messages']")
    assert log.evaluate("(n) => n.scrollHeight > n.clientHeight + 50")
    log.evaluate("(n) => { n.scrollTop = 0; n.dispatchEvent(new Event('scroll')); }")
    send(docked, "What does append do?")

    # Then "jump to latest" appears instead of yanking the view; it scrolls to the newest message
    jump = docked.locator("[data-tutornb='jump-latest']")
    expect(jump).to_be_visible(timeout=30_000)
    expect(messages(docked, "tutor")).to_have_count(3, timeout=30_000)
    assert log.evaluate("(n) => n.scrollTop") < 50
    jump.click()
    expect(jump).to_be_hidden()
    assert log.evaluate("(n) => n.scrollHeight - n.scrollTop - n.clientHeight") < 60

    # When the learner undocks
    docked.locator("[data-tutornb='dock']").click()

    # Then the chat is back in its cell
    expect(page.locator("body > [data-tutornb='panel']")).to_have_count(0)
    expect(lab.cells().nth(tutor_at).locator("[data-tutornb='panel']")).to_have_count(1)

    # When %tutor resume opens the same session again in this page
    second = lab.panel(lab.run_code("%tutor resume"))

    # Then the second panel does not open a second live connection: it points to the first one,
    # which gets focus
    expect(second.locator(".tutornb-elsewhere")).to_be_visible()
    expect(second.locator("[data-tutornb='message']")).to_have_count(0)
    page.wait_for_function(
        """(at) => {
             const a = document.activeElement;
             const cells = document.querySelectorAll(
               '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
             return a && a.getAttribute('data-tutornb') === 'input' && cells[at].contains(a);
           }""",
        arg=tutor_at,
    )


@pytest.mark.browser
def test_imported_html_shows_nothing_the_server_policy_forbids(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    # Given an imported session whose stored HTML carries a relative image (a logout URL) and
    # JupyterLab's own shell class (a fake "session expired" overlay), plus interrupted replies
    now = "2026-01-01T10:00:00Z"
    hostile = '<p>hello <img src="/logout" alt="x"></p><p class="jp-LabShell">Sign in again</p>'
    transcript = [
        {"id": "a", "seq": 1, "role": "learner", "text": "hi", "created_at": now, "client_id": "c1"},
        {"id": "b", "seq": 2, "role": "tutor", "text": "hello", "html": hostile, "created_at": now},
        {"id": "c", "seq": 3, "role": "learner", "text": "and?", "created_at": now, "client_id": "c2"},
        {"id": "d", "seq": 4, "role": "tutor", "text": "Half an ans", "created_at": now,
         "interrupted": "stopped"},
        {"id": "e", "seq": 5, "role": "learner", "text": "more?", "created_at": now, "client_id": "c3"},
        {"id": "f", "seq": 6, "role": "tutor", "text": "Cut", "created_at": now,
         "interrupted": "cut_off"},
    ]  # fmt: skip
    session_id = import_session(lab_server, NOTEBOOK, "imported", transcript)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # When the learner opens it in the panel
    lab.open_notebook(NOTEBOOK)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_code(f"%tutor resume {session_id}"))
    expect(messages(panel)).to_have_count(6, timeout=30_000)

    # Then neither the image nor the foreign class reached the page, and /logout was never fetched
    assert panel.locator("img[src='/logout'], img[src*='logout']").count() == 0
    assert page.locator("[data-tutornb='panel'] .jp-LabShell").count() == 0
    expect(messages(panel, "tutor").first).to_contain_text("hello")
    assert not [url for url in requests if url.rstrip("/").endswith("/logout")]

    # And the interrupted replies carry their marks: "stopped", and "cut off" with Retry
    stopped = panel.locator("[data-tutornb='message'][data-interrupted='stopped']")
    expect(stopped).to_contain_text("Stopped")
    cut = panel.locator("[data-tutornb='message'][data-interrupted='cut_off']")
    expect(cut).to_contain_text("Cut off")
    expect(cut.locator("[data-tutornb='retry']")).to_have_count(1)


@pytest.mark.browser
def test_a_signed_out_page_says_reload_to_sign_in(lab: Lab, lab_server: LabServer, browser_page: Any) -> None:
    panel = open_panel(lab, NOTEBOOK)
    skip_offer(panel)
    send(panel, "What is a list?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)

    # When the server restarts with new secrets (as a hub does): the page's login is no longer valid
    lab_server.stop()
    (lab_server.home / "jupyter-runtime" / "jupyter_cookie_secret").unlink(missing_ok=True)
    lab_server.token = secrets.token_hex(16)
    lab_server.start(timeout=90, keep_port=True)

    # Then the panel does not pretend it is an outage: it says to reload to sign in again
    error = panel.locator("[data-tutornb='error']")
    expect(error).to_have_attribute("data-code", "SIGNED_OUT", timeout=60_000)
    expect(error).to_contain_text("Reload the page to sign in again")
    expect(panel.locator("[data-tutornb='status']")).to_have_text("signed out")
    expect(panel.locator("[data-tutornb='input']")).to_be_disabled()


STATES = ("empty", "chatting", "quiz", "history", "offline-error")


@pytest.mark.browser
@pytest.mark.usefixtures("light_theme")
@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_axe_finds_no_serious_violation_in_any_panel_state(
    lab: Lab, lab_server: LabServer, browser_page: Any, theme: str
) -> None:
    page = browser_page
    set_theme(lab_server, theme)
    sockets = ChatSockets()
    page.context.route_web_socket(CHAT_SOCKET, sockets.route)
    found: dict[str, list[dict[str, Any]]] = {}

    # Given the panel in the chosen theme (offering an earlier session, when there is one)
    panel = open_panel(lab, "03_functions.ipynb")
    dark = page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    assert dark == (theme == "JupyterLab Dark")
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online")
    if skip_offer(panel, before=lambda: found.setdefault("offer", axe_violations(page))):
        found.setdefault("offer", [])

    # State 1: empty, with the greeting and suggestions
    expect(panel.locator(".tutornb-greeting")).to_be_visible()
    found["empty"] = axe_violations(page)

    # State 2: chatting, a streamed reply with code and citations
    send(panel, "What is a default argument?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    expect(messages(panel, "tutor").first.locator("[data-tutornb='citation']").first).to_be_visible()
    found["chatting"] = axe_violations(page)

    # State 3: a quiz question open
    expect(open_quiz(panel)).to_have_count(1)
    found["quiz"] = axe_violations(page)

    # State 4: the history drawer open
    panel.locator("[data-tutornb='history']").click()
    expect(panel.locator("[data-tutornb='history-item']").first).to_be_visible()
    found["history"] = axe_violations(page)
    page.keyboard.press("Escape")

    # State 5: offline, a queued message, and an error banner (an export that cannot be fetched)
    sockets.down = True
    sockets.cut()
    expect(panel.locator(".tutornb-connection")).to_be_visible(timeout=30_000)
    send(panel, "Are you there?")
    expect(panel.locator("[data-tutornb='message'][data-pending='true']")).to_contain_text("Queued")
    page.route("**/tutornb/api/sessions/*/export*", lambda route: route.abort())
    panel.locator("[data-tutornb='export']").click()
    expect(panel.locator("[data-tutornb='error']")).to_be_visible()
    found["offline-error"] = axe_violations(page)

    # Then axe-core finds no serious or critical violation in any of them
    assert set(found) - {"offer"} == set(STATES)
    assert {state: v for state, v in found.items() if v} == {}, json.dumps(found, indent=1)
    assert page.evaluate(FOCUSED) is not None
