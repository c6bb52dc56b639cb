"""tutornb under a real JupyterHub: loaded for both users, isolated between them through the proxy,
the panel working under ``/user/<name>/``, and both users' ``%tutor share`` landing in one exchange
folder that ``tutornb class-report`` reads."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import websocket

from tests.hub.conftest import Hub
from tutornb.cli import main

NOTEBOOK = "01_lists_and_loops.ipynb"


def _execute(hub: Hub, user: str, notebook: str, lines: list[str]) -> list[str]:
    """Runs each line in a kernel of ``user``'s server (a notebook session, as the lab opens one)
    through the proxy with the user's token; the text each line printed (stdout + stderr, and the
    Markdown or plain text of what it displayed)."""
    with hub.as_user(user) as client:
        session = client.post(
            f"user/{user}/api/sessions",
            json={"path": notebook, "type": "notebook", "name": notebook, "kernel": {"name": "python3"}},
        )
        assert session.status_code == 201, session.text
        kernel_id = session.json()["kernel"]["id"]
    url = hub.url.replace("http://", "ws://") + f"user/{user}/api/kernels/{kernel_id}/channels"
    ws = websocket.create_connection(url, header=[f"Authorization: token {hub.tokens[user]}"], timeout=60)
    outputs = []
    try:
        for code in lines:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id,
                                   "username": user, "version": "5.3", "date": ""},
                        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                    }
                )
            )  # fmt: skip
            text = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind in ("display_data", "execute_result"):
                    data = content.get("data", {})
                    text.append(str(data.get("text/markdown") or data.get("text/plain") or ""))
                elif kind == "error":
                    text.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            outputs.append("".join(text))
    finally:
        ws.close()
    return outputs


def test_extension_loads_for_both_users(hub: Hub) -> None:
    for user in ("ann", "bo"):
        with hub.as_user(user) as client:
            response = client.get(f"user/{user}/tutornb/api/status")
            assert response.status_code == 200, response.text
            # each user's store is in their own home (the status never shows absolute paths)
            assert response.json()["tutor"]["name"] == "course"


def test_sessions_are_invisible_to_the_other_user(hub: Hub) -> None:
    # Given a session ann started on her server
    with hub.as_user("ann") as ann:
        created = ann.post(
            "user/ann/tutornb/api/sessions", json={"context": {"course_id": "python-foundations"}}
        )
        assert created.status_code == 201
        session_id = created.json()["id"]
        assert ann.get(f"user/ann/tutornb/api/sessions/{session_id}").status_code == 200
    # When bo asks ann's server for it with his token
    with hub.as_user("bo") as bo:
        # Then the proxy and ann's server refuse him
        assert bo.get(f"user/ann/tutornb/api/sessions/{session_id}").status_code == 403
        assert bo.get("user/ann/tutornb/api/sessions").status_code == 403
        # and his own server (his own home, his own store) does not have it
        assert bo.get(f"user/bo/tutornb/api/sessions/{session_id}").status_code == 404
        assert session_id not in json.dumps(bo.get("user/bo/tutornb/api/sessions").json())
    # And with his login cookie (a browser), ann's server is just as closed
    browser = hub.login("bo")
    try:
        # (a page visit first: the hub's OAuth hands the browser its cookie for the server)
        visit = browser.get("user/bo/lab")
        assert visit.status_code == 200, [(r.status_code, str(r.url)) for r in (*visit.history, visit)]
        own = browser.get("user/bo/tutornb/api/sessions")
        assert own.status_code == 200, [str(r.url) for r in own.history]
        assert browser.get("user/ann/lab").status_code == 403
        other = browser.get(f"user/ann/tutornb/api/sessions/{session_id}")
        assert other.status_code == 403, [str(r.url) for r in other.history]
    finally:
        browser.close()


@pytest.mark.browser
def test_panel_replies_under_the_user_prefix(hub: Hub, chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            # Given ann logged in through the hub's login form
            page.goto(f"{hub.url}hub/login")
            page.fill("#username_input", "ann")
            page.fill("#password_input", "tutornb-hub-test-password")
            page.click("#login_submit")
            page.wait_for_url("**/user/ann/lab**")
            # When she opens a course notebook under /user/ann/ and runs %tutor
            page.goto(f"{hub.url}user/ann/lab/tree/{NOTEBOOK}?reset")
            _wait_idle_kernel(hub, page)
            cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
            _run(page, cells, "%load_ext tutornb")
            cell = _run(page, cells, "%tutor")
            panel = cell.locator("[data-tutornb='panel']")
            panel.wait_for()
            # Then the panel shows the course and a message gets the tutor's reply
            assert "Lists & loops" in panel.locator("[data-tutornb='context']").inner_text()
            box = panel.locator("[data-tutornb='input']")
            box.fill("How do I loop over a list and get the index of each item?")
            box.press("Enter")
            reply = panel.locator(
                "[data-tutornb='message'][data-role='tutor']:not([data-streaming='true'])",
                has_text="enumerate",
            )
            reply.first.wait_for()
        except BaseException:
            page.screenshot(path="/tmp/tutornb-hub-failure.png", full_page=True)
            print(f"screenshot: /tmp/tutornb-hub-failure.png\nhub log:\n{hub.log_tail()}")
            raise
        finally:
            browser.close()


def _wait_idle_kernel(hub: Hub, page: Any) -> None:
    deadline = time.monotonic() + 60
    with hub.as_user("ann") as client:
        while time.monotonic() < deadline:
            sessions = client.get("user/ann/api/sessions").json()
            if any(
                s.get("path") == NOTEBOOK and (s.get("kernel") or {}).get("execution_state") == "idle"
                for s in sessions
            ):
                break
            page.wait_for_timeout(200)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()


def _run(page: Any, cells: Any, source: str) -> Any:
    """Runs the notebook's code cell whose source is ``source`` (click, Shift+Enter, until it ran)."""
    index = (
        int(
            page.wait_for_function(
                """(source) => {
                 const cells = Array.from(document.querySelectorAll(
                   '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
                 const i = cells.findIndex(c => c.classList.contains('jp-CodeCell') &&
                   Array.from(c.querySelectorAll('.jp-InputArea .cm-line'))
                     .map(l => l.textContent).join('\\n').trim() === source);
                 return i >= 0 ? i + 1 : 0;
               }""",
                arg=source,
            ).json_value()
        )
        - 1
    )
    cell = cells.nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text().strip()
    for _attempt in range(4):
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and prompt.inner_text().strip() == before:
            page.wait_for_timeout(100)
        if prompt.inner_text().strip() != before:
            break
    cell.locator(".jp-InputPrompt", has_text="]").filter(has_not_text="*").wait_for()
    return cell


def test_both_shares_land_in_one_exchange_folder(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given ann and bo studying in their own kernels
    scripts = {
        "ann": ["quiz me", "go", "a", "b"],
        # (no final "?": in IPython a line ending in ? asks for help instead of running)
        "bo": ["How do I train a neural network with tensorflow", "quiz me", "go", "b", "a"],
    }
    for user, script in scripts.items():
        lines = ["%load_ext tutornb", *(f"%tutor ask {text}" for text in script)]
        # When each previews and confirms %tutor share (bo consents to share his questions' text)
        flag = " --include-questions" if user == "bo" else ""
        outputs = _execute(
            hub, user, NOTEBOOK, [*lines, f"%tutor share{flag}", f"%tutor share{flag} --confirm"]
        )
        assert "Nothing is shared yet" in outputs[-2], outputs
        said = rf"Shared your progress report as python-foundations__{user}__[0-9a-f]{{16}}\.json"
        shared = re.search(said, outputs[-1])
        assert shared is not None, outputs
    # Then one file per learner is in the one exchange folder, under a name no one else can guess
    names = sorted(p.name for p in hub.exchange.iterdir())
    assert [re.sub(r"__[0-9a-f]{16}\.json$", "", name) for name in names] == [
        "python-foundations__ann",
        "python-foundations__bo",
    ]
    # And the instructor's class report reads both
    out = tmp_path / "class"
    assert main(["class-report", str(hub.exchange), "-o", str(out)]) == 0
    view = json.loads((out / "class.json").read_text())
    assert (view["course_id"], view["learners"]) == ("python-foundations", 2)
    q1 = next(q for q in view["quiz"] if q["question_id"] == "lists-q1")
    assert (q1["learners"], q1["first_try_correct"]) == (2, 1)
    assert [q["text"] for t in view["uncovered"]["topics"] for q in t["questions"]] == [
        "How do I train a neural network with tensorflow"
    ]
