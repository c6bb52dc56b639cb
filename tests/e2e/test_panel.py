"""The chat panel in a real JupyterLab and a real browser: chat, reload and resume, XSS, outbox.

One learner story, in order (each step needs the state the previous one left):
run ``%tutor`` in the lists-and-loops notebook, chat and watch the reply stream in, send an XSS
payload that must stay text, lose the chat socket while typing and see the outbox deliver the
message once, then reload the page, re-run ``%tutor``, take the resume offer and get the whole
transcript back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import send
from .panel_helpers import ChatSockets

NOTEBOOK = "01_lists_and_loops.ipynb"
DOCS = Path(__file__).resolve().parents[2] / "docs"
CHAT_SOCKET = re.compile(r"/tutornb/api/sessions/[^/?]+/chat(\?.*)?$")
XSS = "<img src=x onerror=window.__xss=1> and <script>window.__xss=2</script>"

WATCH_STREAMING = """() => {
  window.__tnbStreamed = false;
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      if (node.nodeType === 1 && (node.matches('[data-streaming="true"]') ||
          node.querySelector('[data-streaming="true"]'))) window.__tnbStreamed = true;
    }
  }).observe(document.body, { subtree: true, childList: true });
}"""


def _learner_messages(server: LabServer, session_id: str) -> list[str]:
    with server.api() as api:
        detail = api.get(f"tutornb/api/sessions/{session_id}").json()
    return [m["text"] for m in detail["messages"] if m["role"] == "learner"]


def _tutor_replies(panel: Any) -> Any:
    return panel.locator("[data-tutornb='message'][data-role='tutor']:not([data-streaming='true'])")


@pytest.mark.browser
def test_chat_resume_xss_and_outbox_in_a_real_browser(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    sockets = ChatSockets()
    page.context.route_web_socket(CHAT_SOCKET, sockets.route)

    # Given the lists-and-loops notebook open in JupyterLab with an idle kernel
    lab.open_notebook(NOTEBOOK)
    lab.run_cell("%load_ext tutornb")

    # When the learner runs %tutor
    tutor_cell = lab.run_cell("%tutor")
    panel = lab.panel(tutor_cell)

    # Then the panel shows the notebook's course and module, and is ready to chat (no offer yet)
    expect(panel.locator("[data-tutornb='context']")).to_contain_text("Lists & loops")
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online")
    expect(panel.locator("[data-tutornb='resume-offer']")).to_have_count(0)
    for hook in ("messages", "input", "send", "pause", "close", "export", "history", "phase"):
        expect(panel.locator(f"[data-tutornb='{hook}']")).to_have_count(1)
    expect(panel.locator("[data-tutornb='messages']")).to_have_attribute("aria-live", "polite")

    # When the learner types two lines with Shift+Enter
    box = panel.locator("[data-tutornb='input']")
    prompt = tutor_cell.locator(".jp-InputPrompt").inner_text()
    box.click()
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")

    # Then that is a new line in the message, not a send and not JupyterLab's "run cell"
    expect(box).to_have_value("line one\nline two")
    expect(panel.locator("[data-tutornb='message']")).to_have_count(0)
    assert tutor_cell.locator(".jp-InputPrompt").inner_text() == prompt
    box.fill("")

    # When the learner sends a question with Enter
    page.evaluate(WATCH_STREAMING)
    send(panel, "How do I loop over a list and get the index of each item?")

    # Then the question shows, the reply streams in live and lands with its citations
    learner = panel.locator("[data-tutornb='message'][data-role='learner']")
    expect(learner).to_have_count(1)
    expect(_tutor_replies(panel)).to_have_count(1, timeout=30_000)
    assert page.evaluate("window.__tnbStreamed") is True
    first_reply = _tutor_replies(panel).first
    expect(first_reply).to_contain_text("enumerate")
    expect(first_reply.locator(".tutornb-citations li").first).to_contain_text(
        re.compile(r"01_lists_and_loops\.ipynb · cell \d+")
    )
    expect(panel.locator("[data-tutornb='phase']")).not_to_have_text("no session")
    session_id = _current_session(lab_server)
    DOCS.mkdir(exist_ok=True)
    panel.screenshot(path=str(DOCS / "panel.png"))

    # When the learner sends an XSS payload
    send(panel, XSS)

    # Then it is shown as text, and nothing in it ran
    expect(learner).to_have_count(2)
    expect(learner.nth(1)).to_contain_text("<img src=x onerror=window.__xss=1>")
    expect(learner.nth(1)).to_contain_text("<script>window.__xss=2</script>")
    expect(_tutor_replies(panel)).to_have_count(2, timeout=30_000)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert panel.locator("img, script").count() == 0

    # When the chat server goes away while the learner types a message
    sockets.cut()
    expect(panel.locator("[data-tutornb='status']")).to_have_text(re.compile("reconnecting|offline"))
    outboxed = "Is a tuple like a list?"
    send(panel, outboxed)

    # Then the message waits in the outbox (on screen and in localStorage)
    pending = panel.locator("[data-tutornb='message'][data-pending='true']")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(outboxed)
    stored_outbox = page.evaluate(f"() => localStorage.getItem('tutornb:outbox:{session_id}') || ''")
    assert outboxed in stored_outbox

    # When the server is reachable again
    sockets.down = False

    # Then the panel reconnects on its own, re-sends the message, and it is stored exactly once
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online", timeout=30_000)
    expect(pending).to_have_count(0, timeout=30_000)
    expect(learner.filter(has_text=outboxed)).to_have_count(1)
    assert sockets.refused >= 1
    assert _learner_messages(lab_server, session_id).count(outboxed) == 1
    assert page.evaluate(f"() => localStorage.getItem('tutornb:outbox:{session_id}')") is None
    expect(panel.locator("[data-tutornb='message'][data-role='tutor']").last).not_to_have_attribute(
        "data-streaming", "true", timeout=30_000
    )

    # When the socket drops again, the learner types another message and reloads the page
    sockets.cut()
    expect(panel.locator("[data-tutornb='status']")).to_have_text(re.compile("reconnecting|offline"))
    after_reload = "What does append do to a list?"
    send(panel, after_reload)
    expect(pending).to_have_count(1)
    page.reload()
    sockets.down = False
    lab.wait_for_idle_kernel()
    panel = lab.panel(lab.run_cell("%tutor"))

    # Then the resume offer names the session, its size and age, and previews the last two messages
    offer = panel.locator("[data-tutornb='resume-offer']")
    expect(offer).to_be_visible(timeout=30_000)
    with lab_server.api() as api:
        detail = api.get(f"tutornb/api/sessions/{session_id}").json()
    assert after_reload not in _learner_messages(lab_server, session_id)
    expect(offer).to_contain_text(f"{detail['message_count']} messages")
    expect(offer).to_contain_text(re.compile(r"just now|min ago"))
    preview = offer.locator(".tutornb-preview li")
    expect(preview).to_have_count(2)
    expect(preview.nth(1)).to_have_attribute("data-role", detail["messages"][-1]["role"])
    expect(preview.nth(0)).to_contain_text(detail["messages"][-2]["text"].split()[0])
    expect(offer.locator("[data-tutornb='new-session']")).to_be_visible()

    # When the learner resumes
    offer.locator("[data-tutornb='resume']").click()

    # Then the whole transcript is back, the message kept across the reload is delivered once,
    # and the page shows exactly what is stored
    expect(offer).to_have_count(0)
    expect(panel.locator("[data-tutornb='status']")).to_have_text("online")
    expect(pending).to_have_count(0, timeout=30_000)
    expect(learner.filter(has_text=after_reload)).to_have_count(1)
    expect(_tutor_replies(panel).last).to_contain_text("append", timeout=30_000)
    with lab_server.api() as api:
        resumed = api.get(f"tutornb/api/sessions/{session_id}").json()
    assert resumed["message_count"] > detail["message_count"]
    assert [m["text"] for m in resumed["messages"]][: detail["message_count"]] == [
        m["text"] for m in detail["messages"]
    ]
    assert _learner_messages(lab_server, session_id).count(after_reload) == 1
    assert _learner_messages(lab_server, session_id).count(outboxed) == 1
    messages = panel.locator("[data-tutornb='message']:not([data-streaming='true'])")
    expect(messages).to_have_count(resumed["message_count"], timeout=30_000)
    expect(learner.filter(has_text="<script>window.__xss=2</script>")).to_have_count(1)
    assert page.evaluate("typeof window.__xss") == "undefined"


def _current_session(server: LabServer, notebook: str = NOTEBOOK) -> str:
    with server.api() as api:
        page = api.get(
            "tutornb/api/sessions", params={"notebook_path": notebook, "status": "active,paused"}
        ).json()
    assert page["total"] == 1
    return str(page["sessions"][0]["id"])


@pytest.mark.browser
def test_quiz_controls_export_history_and_the_comm_pipe(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    page = browser_page
    notebook = "02_dictionaries.ipynb"

    # Given the panel on the dictionaries notebook, with no earlier session of it
    lab.open_notebook(notebook)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_cell("%tutor"))
    expect(panel.locator("[data-tutornb='context']")).to_contain_text("Dictionaries")

    # When the learner asks for a quiz and starts it
    send(panel, "quiz me")
    expect(_tutor_replies(panel)).to_have_count(1, timeout=30_000)
    send(panel, "go")

    # Then the question comes with choice buttons, and answering one sends it as the learner's turn
    first_quiz = panel.locator("[data-tutornb='quiz']").first
    expect(first_quiz).to_be_visible(timeout=30_000)
    # Pinned by its question: the tutor's next question arrives as soon as this one is answered.
    question_id = first_quiz.get_attribute("data-question-id")
    quiz = panel.locator(f"[data-tutornb='quiz'][data-question-id='{question_id}']")
    expect(panel.locator("[data-tutornb='phase']")).to_have_text("quizzing")
    choices = quiz.locator("[data-tutornb='choice']")
    assert choices.count() >= 2
    choices.first.click()
    expect(choices.first).to_be_disabled()
    expect(panel.locator("[data-tutornb='message'][data-role='learner']")).to_have_count(3)
    expect(panel.locator("[data-tutornb='message'][data-role='learner']").last).to_contain_text("A.")
    expect(_tutor_replies(panel)).to_have_count(3, timeout=30_000)
    session_id = _current_session(lab_server, notebook)

    # When the learner pauses, then resumes with the toolbar
    panel.locator("[data-tutornb='pause']").click()

    # Then the session is paused (toolbar offers resume), then active again
    expect(panel).to_have_attribute("data-session-status", "paused")
    panel.locator("[data-tutornb='resume']").click()
    expect(panel).to_have_attribute("data-session-status", "active")
    expect(panel.locator("[data-tutornb='resume']")).to_have_count(0)

    # When the learner exports the session as Markdown
    panel.locator("select[aria-label='Export format']").select_option("markdown")
    with page.expect_download() as download_info:
        panel.locator("[data-tutornb='export']").click()

    # Then a Markdown file with the conversation is downloaded
    download = download_info.value
    assert download.suggested_filename.endswith(".md")
    assert "quiz me" in Path(download.path()).read_text(encoding="utf-8")

    # When the learner opens the history and searches as they type
    panel.locator("[data-tutornb='history']").click()
    items = panel.locator("[data-tutornb='history-item']")
    expect(items.filter(has_text="Dictionaries")).to_have_count(1)
    search = panel.locator("[data-tutornb='history-search']")
    search.press_sequentially("zebra-unicorn")

    # Then a word found in no session leaves no item, and a word of this session finds it
    expect(items).to_have_count(0)
    expect(panel.locator(".tutornb-history")).to_contain_text("No sessions found.")
    search.fill("")
    search.press_sequentially("quiz me")
    expect(items.and_(panel.locator(f"[data-session-id='{session_id}']"))).to_have_count(1)
    panel.locator("select[data-filter='status']").select_option("closed")
    expect(items).to_have_count(0)
    panel.locator("select[data-filter='status']").select_option("")
    panel.locator("select[data-filter='module']").select_option("dictionaries")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-session-id", session_id)

    # When the learner opens that session from the history
    items.first.click()

    # Then its transcript is shown again
    with lab_server.api() as api:
        count = api.get(f"tutornb/api/sessions/{session_id}").json()["message_count"]
    expect(panel.locator("[data-tutornb='message']:not([data-streaming='true'])")).to_have_count(
        count, timeout=30_000
    )

    # When the learner closes the session (and confirms: Close ends it for good)
    panel.locator("[data-tutornb='close']").click()
    expect(panel.locator(".tutornb-confirm")).to_be_visible()
    expect(panel).not_to_have_attribute("data-session-status", "closed")
    panel.locator("[data-action='confirm-close']").click()

    # Then it is closed for good: no more input, and a way to start a new one
    expect(panel).to_have_attribute("data-session-status", "closed")
    expect(panel.locator("[data-tutornb='input']")).to_be_disabled()
    expect(panel.locator("[data-tutornb='new-session']")).to_be_visible()
    expect(panel.locator("[data-tutornb='error']")).to_have_count(0)

    # When the learner starts a new session with a message the server refuses for good (too long)
    panel.locator("[data-tutornb='new-session']").click()
    too_long = "x" * 16_001
    send(panel, too_long)

    # Then the error is shown, nothing waits in the outbox, and the text is back to edit
    error = panel.locator("[data-tutornb='error']")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "PAYLOAD_TOO_LARGE")
    expect(panel.locator("[data-tutornb='message'][data-pending='true']")).to_have_count(0)
    expect(panel.locator("[data-tutornb='input']")).to_have_value(too_long)
    panel.locator("[data-tutornb='input']").fill("")
    panel.locator("[data-tutornb='close']").click()  # the (empty) session that message started
    panel.locator("[data-action='confirm-close']").click()
    expect(panel).to_have_attribute("data-session-status", "closed")

    # When a panel talks through the kernel comm instead of the server's socket (VS Code, Colab)
    cell = lab.run_code(
        'import tutornb\ncomm_panel = tutornb.chat()\ncomm_panel.transport = "comm"\ncomm_panel'
    )
    comm_panel = lab.panel(cell)
    expect(comm_panel.locator("[data-tutornb='status']")).to_have_text("online")
    expect(comm_panel.locator("[data-tutornb='resume-offer']")).to_have_count(0)
    send(comm_panel, "How do I get a value from a dictionary without a KeyError?")

    # Then the same frames flow: the reply arrives and the session is in the same store
    expect(_tutor_replies(comm_panel)).to_have_count(1, timeout=30_000)
    expect(_tutor_replies(comm_panel).first).to_contain_text("get")
    comm_session = _current_session(lab_server, notebook)
    assert comm_session != session_id
    assert _learner_messages(lab_server, comm_session) == [
        "How do I get a value from a dictionary without a KeyError?"
    ]

    # When the learner leaves that session in the comm panel (one live panel per session per page)
    # and runs %tutor resume
    comm_panel.locator("[data-tutornb='new-session']").click()
    expect(comm_panel.locator(".tutornb-greeting")).to_be_visible()
    resumed_panel = lab.panel(lab.run_cell("%tutor resume"))

    # Then the panel opens straight on the most recent session of this notebook, no offer needed
    expect(resumed_panel.locator("[data-tutornb='resume-offer']")).to_have_count(0)
    expect(resumed_panel).to_have_attribute("data-session-status", "active")
    with lab_server.api() as api:
        count = api.get(f"tutornb/api/sessions/{comm_session}").json()["message_count"]
    expect(resumed_panel.locator("[data-tutornb='message']:not([data-streaming='true'])")).to_have_count(
        count
    )
