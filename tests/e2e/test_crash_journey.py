"""The Jupyter server dies mid-conversation (SIGKILL: no shutdown hook runs), and nothing the
learner was told is stored is lost.

A learner chats in a real JupyterLab; right after the server acknowledges a message, while the
tutor's reply may still be streaming, the server is killed with ``kill -9``. It comes back on the
same root and store (on a new port), the learner reloads, resumes, and every message the page had
shown as acknowledged is there, in order, exactly once, in the page and over REST.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import (
    descendants,
    kill_leftovers,
    messages,
    only_session,
    open_panel,
    send,
    session_detail,
)

NOTEBOOK = "01_lists_and_loops.ipynb"
QUESTIONS = [
    "How do I loop over a list and get the index of each item",
    "What does append do to a list",
    "How do I take a slice of a list",
    "What is a list comprehension",
]

SHOWN_MESSAGES = """(panel) => Array.from(panel.querySelectorAll(
  '[data-tutornb="message"]:not([data-streaming="true"]):not([data-pending="true"])'))
  .map((node) => ({ seq: Number(node.dataset.seq), role: node.dataset.role,
                    text: node.querySelector('.tutornb-body').innerText.trim() }))"""


CHAT_SOCKET = re.compile(r"/tutornb/api/sessions/[^/?]+/chat(\?.*)?$")


def wait_for_stored_turns(server: LabServer, session_id: str, count: int) -> None:
    """Waits until the store holds ``count`` messages of the session (each turn answered)."""
    deadline = time.monotonic() + 30
    while True:
        stored = session_detail(server, session_id)["message_count"]
        if stored >= count:
            return
        assert time.monotonic() < deadline, f"{stored} of {count} messages stored after 30 s"
        time.sleep(0.1)


class KillOnAck:
    """Relays the panel's chat sockets, and kills the server the moment it acknowledges ``text``.

    The kill happens as the ``ack`` frame reaches the browser's side of the socket and before the
    page processes it: the server has promised the message is on disk, and whatever it does next
    (the tutor's turn, its streamed reply, state updates) is cut off wherever it is.
    """

    def __init__(self, server: subprocess.Popen[bytes], text: str) -> None:
        self.server = server
        self.text = text
        self.killed = False

    def route(self, ws: Any) -> None:
        upstream = ws.connect_to_server()

        def to_page(frame: str | bytes) -> None:
            if not self.killed and isinstance(frame, str) and self._is_the_ack(frame):
                self.server.send_signal(signal.SIGKILL)
                self.killed = True
            ws.send(frame)

        upstream.on_message(to_page)

    def _is_the_ack(self, frame: str) -> bool:
        data = json.loads(frame)
        return bool(data.get("type") == "ack" and data["message"]["text"] == self.text)


@pytest.mark.browser
def test_kill_9_mid_conversation_loses_no_acknowledged_message(
    lab: Lab, lab_server: LabServer, browser_page: Any
) -> None:
    assert lab_server.process is not None
    server = lab_server.process
    killer = KillOnAck(server, QUESTIONS[-1])
    browser_page.context.route_web_socket(CHAT_SOCKET, killer.route)

    # Given a learner in conversation with the tutor: three questions answered
    panel = open_panel(lab, NOTEBOOK)
    for number, question in enumerate(QUESTIONS[:-1], start=1):
        send(panel, question)
        expect(messages(panel, "learner")).to_have_count(number)
        expect(messages(panel, "tutor")).to_have_count(number, timeout=30_000)
    session_id = only_session(lab_server, NOTEBOOK)
    kernels = descendants(server.pid)

    # When a fourth question is acknowledged and the server is killed that very moment, with the
    # tutor's turn on it in flight
    send(panel, QUESTIONS[-1])
    expect(messages(panel, "learner")).to_have_count(len(QUESTIONS))
    assert killer.killed
    server.wait(10)
    acknowledged = panel.evaluate(SHOWN_MESSAGES)

    # Then the page says the connection is gone, and it had shown every question as stored
    expect(panel.locator("[data-tutornb='status']")).not_to_have_text("online", timeout=15_000)
    assert [m["seq"] for m in acknowledged] == list(range(1, len(acknowledged) + 1))
    assert [m["text"] for m in acknowledged if m["role"] == "learner"] == QUESTIONS

    try:
        # When the server starts again on the same root and store, and the learner reloads
        # (a fresh port; the log gets a "start 2" marker)
        lab_server.start()
        panel = open_panel(lab, NOTEBOOK)

        # Then the resume offer is for the same session, with at least what was acknowledged
        offer = panel.locator("[data-tutornb='resume-offer']")
        expect(offer).to_be_visible(timeout=30_000)
        expect(offer).to_have_attribute("data-session-id", session_id)
        stored = session_detail(lab_server, session_id)
        assert stored["message_count"] >= len(acknowledged)
        print(
            f"shown as stored when the server died: {len(acknowledged)} messages; "
            f"in the store after the restart: {stored['message_count']}"
        )

        # When the learner resumes
        offer.locator("[data-tutornb='resume']").click()

        # Then the tutor's turn on the pending question ends (its reply may have been cut off by
        # the kill; the resumed session answers it): every read below is taken after that turn,
        # so a reply landing between two reads cannot make them differ
        expect(panel).to_have_attribute("data-session-status", "active")
        expect(messages(panel, "tutor")).to_have_count(len(QUESTIONS), timeout=30_000)
        expect(panel.locator("[data-tutornb='message'][data-streaming='true']")).to_have_count(0)
        wait_for_stored_turns(lab_server, session_id, 2 * len(QUESTIONS))

        # And every acknowledged message is stored once, in order, with its seq and role
        after = session_detail(lab_server, session_id)
        by_seq = {m["seq"]: m for m in after["messages"]}
        assert [m["seq"] for m in after["messages"]] == list(range(1, after["message_count"] + 1))
        for shown in acknowledged:
            assert by_seq[shown["seq"]]["role"] == shown["role"]
        learner_texts = [m["text"] for m in after["messages"] if m["role"] == "learner"]
        assert learner_texts == QUESTIONS
        with lab_server.api() as api:
            listed = api.get(f"tutornb/api/sessions/{session_id}/messages").json()["messages"]
        assert [(m["seq"], m["role"], m["text"]) for m in listed] == [
            (m["seq"], m["role"], m["text"]) for m in after["messages"]
        ]

        # And the page shows exactly what is stored, the acknowledged messages as they were
        expect(messages(panel)).to_have_count(after["message_count"], timeout=30_000)
        resumed = panel.evaluate(SHOWN_MESSAGES)
        assert [(m["seq"], m["role"]) for m in resumed] == [(m["seq"], m["role"]) for m in after["messages"]]
        assert resumed[: len(acknowledged)] == acknowledged
    finally:
        kill_leftovers(kernels, str(lab_server.home))
