"""The panel's kernel-comm transport: the page's messages in, the service's frames out.

The panel's custom-message handler is called directly with what chat.js sends; what it would send
back to the page is recorded. Behind it runs the real service, store and offline course tutor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tutornb.context import KernelRuntime, read_context
from tutornb.service import TutorService
from tutornb.widget import panel_for

from .conftest import OWNER, RecordingPanel

NOTEBOOK = "01_lists_and_loops.ipynb"


@pytest.fixture
def panel(make_panel: Callable[..., RecordingPanel], course_root: Path) -> RecordingPanel:
    context = read_context(course_root / NOTEBOOK, course_root)
    return make_panel(context=context.as_dict(), notebook_path=context.notebook_path)


def _create(panel: RecordingPanel) -> str:
    body = {"context": {k: v for k, v in panel.context.items() if k in _CONTEXT_KEYS and v}}
    reply = panel.request("create_session", body)
    assert reply["ok"], reply
    return str(reply["result"]["id"])


_CONTEXT_KEYS = {"course_id", "course_title", "module_id", "module_title", "notebook_path"}


def test_requests_answer_like_the_rest_api_with_errors_as_data(panel: RecordingPanel) -> None:
    # Given a panel on the lists-and-loops notebook
    # When it creates a session and lists this notebook's resumable sessions
    session_id = _create(panel)
    listing = panel.request(
        "list_sessions", {"notebook_path": NOTEBOOK, "status": "active,paused", "limit": 10}
    )
    other = panel.request("list_sessions", {"notebook_path": "03_functions.ipynb"})
    fetched = panel.request("get_session", {"session_id": session_id})

    # Then the answers have the REST shapes
    assert listing["ok"]
    assert [s["id"] for s in listing["result"]["sessions"]] == [session_id]
    assert listing["result"]["sessions"][0]["context"]["module_id"] == panel.context["module_id"]
    assert other["result"] == {"sessions": [], "next_cursor": None, "total": 0}
    assert fetched["result"]["status"] == "active"
    assert fetched["result"]["messages"] == []

    # And failures come back as {code, message} data, never as an exception
    missing = panel.request("get_session", {"session_id": "no-such-session"})
    assert missing["ok"] is False
    assert missing["error"]["code"] == "SESSION_NOT_FOUND"
    bad_limit = panel.request("list_sessions", {"limit": 0})
    assert bad_limit["error"]["code"] == "INVALID_REQUEST"
    unknown = panel.request("drop_tables", {})
    assert unknown["error"]["code"] == "INVALID_REQUEST"
    bad_id = panel.request("get_session", {"session_id": "../../etc/passwd"})
    assert bad_id["error"]["code"] == "INVALID_REQUEST"


def test_chat_frames_flow_through_the_comm_like_the_socket(panel: RecordingPanel) -> None:
    # Given a session and a panel connected to it over the comm
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})
    first = panel.frames()[0]
    assert first["type"] == "session"
    assert first["session"]["id"] == session_id

    # When the learner sends a message
    panel.chat(
        {
            "kind": "frame",
            "frame": {"type": "message", "client_id": "c-1", "text": "How do I loop over a list?"},
        }
    )

    # Then it is acknowledged once durable, echoed, and the tutor's reply streams then lands
    ack = panel.wait_for_frame(lambda f: f["type"] == "ack")
    assert ack["client_id"] == "c-1"
    assert ack["message"]["role"] == "learner"
    reply = panel.wait_for_frame(lambda f: f["type"] == "message" and f["message"]["role"] == "tutor")
    deltas = [f for f in panel.frames() if f["type"] == "delta"]
    assert deltas
    assert all(d["message_id"] == reply["stream_id"] for d in deltas)
    assert "".join(d["text"] for d in deltas).strip() == reply["message"]["text"].strip()
    assert reply["message"]["citations"], "the course tutor cites the notebook's cells"
    assert reply["message"]["html"]
    # Every frame the page gets is tagged with its session, so stale frames can be dropped.
    assert {c["session_id"] for c, _ in panel.sent if c.get("kind") == "frame"} == {session_id}

    # When the page re-sends the same client_id (after a reconnect or a reload)
    panel.chat(
        {
            "kind": "frame",
            "frame": {"type": "message", "client_id": "c-1", "text": "How do I loop over a list?"},
        }
    )

    # Then it is acknowledged again with the stored message, and stored only once
    acks = [f for f in panel.frames() if f["type"] == "ack"]
    assert len(acks) == 2
    assert acks[1]["message"]["id"] == ack["message"]["id"]
    stored = panel.request("get_session", {"session_id": session_id})["result"]["messages"]
    assert [m["client_id"] for m in stored if m["role"] == "learner"] == ["c-1"]


def test_bad_frames_are_answered_with_error_frames(panel: RecordingPanel) -> None:
    # Given a panel that has not connected yet
    # When it sends a chat frame
    panel.chat({"kind": "frame", "frame": {"type": "message", "client_id": "x", "text": "hi"}})

    # Then it is told it is not connected
    assert panel.frames()[-1]["type"] == "error"
    assert panel.frames()[-1]["code"] == "INVALID_REQUEST"

    # When it connects to a session that does not exist
    panel.chat({"kind": "connect", "session_id": "missing-session"})

    # Then the error is a frame, not an exception
    assert panel.frames()[-1]["code"] == "SESSION_NOT_FOUND"

    # When it connects properly and sends a malformed frame
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})
    panel.chat({"kind": "frame", "frame": {"type": "message", "text": ""}})
    panel.chat({"kind": "frame", "frame": "{not json"})

    # Then both are refused as invalid requests and nothing is stored
    errors = [f for f in panel.frames() if f["type"] == "error"]
    assert [e["code"] for e in errors[-2:]] == ["INVALID_REQUEST", "INVALID_REQUEST"]
    stored = panel.request("get_session", {"session_id": session_id})["result"]
    assert stored["message_count"] == 0


def test_pause_resume_and_close_reach_the_connected_panel(panel: RecordingPanel) -> None:
    # Given a connected panel
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})

    # When the session is paused through a request
    paused = panel.request("change_status", {"session_id": session_id, "action": "pause"})

    # Then the answer and the broadcast state frame both say paused
    assert paused["result"]["status"] == "paused"
    state = panel.wait_for_frame(lambda f: f["type"] == "state")
    assert state["session"]["status"] == "paused"

    # And a message sent while paused is refused, naming its client_id (it stays in the outbox)
    panel.chat({"kind": "frame", "frame": {"type": "message", "client_id": "p-1", "text": "hi"}})
    refused = panel.frames()[-1]
    assert (refused["type"], refused["code"], refused["client_id"]) == (
        "error",
        "INVALID_SESSION_STATE",
        "p-1",
    )

    # When the page resumes with a frame
    panel.chat({"kind": "frame", "frame": {"type": "resume"}})

    # Then the session is active again (a pause this short gets no "where we left off" recap: see
    # tests/service for both sides of that rule)
    panel.wait_for_frame(lambda f: f["type"] == "state" and f["session"]["status"] == "active")

    # When it is closed, a second close is an invalid transition reported as data
    closed = panel.request("change_status", {"session_id": session_id, "action": "close"})
    again = panel.request("change_status", {"session_id": session_id, "action": "close"})
    assert closed["result"]["status"] == "closed"
    assert again["error"]["code"] == "INVALID_SESSION_STATE"
    weird = panel.request("change_status", {"session_id": session_id, "action": "explode"})
    assert weird["error"]["code"] == "INVALID_REQUEST"


def test_export_over_the_comm_carries_the_file_as_bytes(panel: RecordingPanel) -> None:
    # Given a session with a conversation
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})
    panel.chat(
        {
            "kind": "frame",
            "frame": {"type": "message", "client_id": "e-1", "text": "What is a list?"},
        }
    )
    panel.wait_for_frame(lambda f: f["type"] == "message" and f["message"]["role"] == "tutor")

    # When the page asks for the JSON and the Markdown exports
    as_json = panel.request("export", {"session_id": session_id, "format": "json"})
    as_md = panel.request("export", {"session_id": session_id, "format": "markdown"})
    bad = panel.request("export", {"session_id": session_id, "format": "exe"})

    # Then each carries a server-chosen file name and the document as a binary buffer
    assert as_json["ok"]
    assert as_json["result"]["filename"].endswith(".json")
    document = json.loads(as_json["buffers"][0])
    assert document["session"]["id"] == session_id
    assert document["messages"][0]["text"] == "What is a list?"
    assert as_md["result"]["media_type"].startswith("text/markdown")
    assert b"What is a list?" in as_md["buffers"][0]
    assert bad["error"]["code"] == "INVALID_REQUEST"


def test_disconnect_pauses_the_session_and_reconnect_restores_the_transcript(
    panel: RecordingPanel, make_panel: Callable[..., RecordingPanel]
) -> None:
    # Given a connected panel with one exchange
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})
    panel.chat({"kind": "frame", "frame": {"type": "message", "client_id": "d-1", "text": "hi"}})
    panel.wait_for_frame(lambda f: f["type"] == "message" and f["message"]["role"] == "tutor")

    # When the page goes away (its last connection closes)
    panel.chat({"kind": "disconnect"})

    # Then the session is paused, and a new panel connecting gets the whole transcript back
    assert panel.request("get_session", {"session_id": session_id})["result"]["status"] == "paused"
    later = make_panel(notebook_path=NOTEBOOK)
    later.chat({"kind": "connect", "session_id": session_id})
    restored = later.frames()[0]
    assert restored["type"] == "session"
    assert [m["role"] for m in restored["session"]["messages"]][:2] == ["learner", "tutor"]


def test_panel_for_syncs_the_notebook_context(course_root: Path) -> None:
    # Given the course metadata of a notebook
    context = read_context(course_root / NOTEBOOK, course_root)

    # When a panel is made for it
    panel = panel_for(context, session_id="abc", auto_resume=True)

    # Then the page gets the context, the notebook path and the session to open
    try:
        assert panel.notebook_path == NOTEBOOK
        assert panel.context["course_id"] == context.course.course_id
        assert panel.context["notebook_path"] == NOTEBOOK
        assert (panel.session_id, panel.auto_resume) == ("abc", True)
        assert panel.panel_id
        assert " as default" in str(panel._esm)  # the bundle exports anywidget's entry as its default
    finally:
        panel.close()


def test_a_kernel_shutting_down_pauses_its_panels_sessions(
    panel: RecordingPanel, runtime: KernelRuntime, course_root: Path, tmp_path: Path
) -> None:
    # Given a panel connected over the comm to an active session
    session_id = _create(panel)
    panel.chat({"kind": "connect", "session_id": session_id})

    # When the kernel's runtime closes (the kernel shuts down)
    runtime.close()

    # Then the session was paused, as a closed browser tab would leave it
    service = TutorService.open(root_dir=course_root, store_dir=tmp_path / "store")
    try:
        assert service.get_session(OWNER, session_id).status.value == "paused"
    finally:
        service.close()
