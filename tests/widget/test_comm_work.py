"""The learner's own work over the panel's kernel comm: the same ``work`` field as on the socket.

Behind the recording panel run the real kernel service, store and offline course tutor.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest

from tutornb.service import TutorService

from .conftest import OWNER, RecordingPanel, create_session

WORK = {
    "cell_index": 4,
    "code": "numbers = [1, 2, 3]\nprint(numbers[3])\n",
    "error": "Cell In[7], line 2\n    print(numbers[3])\nIndexError: list index out of range",
}


def _connected(panel: RecordingPanel) -> str:
    session_id = create_session(panel)
    panel.chat({"kind": "connect", "session_id": session_id})
    return session_id


def _send(panel: RecordingPanel, client_id: str, work: Any) -> None:
    frame = {"type": "message", "client_id": client_id, "text": "Why does this fail?", "work": work}
    panel.chat({"kind": "frame", "frame": frame})


def _export(panel: RecordingPanel, session_id: str, fmt: str) -> str:
    reply = panel.request("export", {"session_id": session_id, "format": fmt})
    assert reply["ok"], reply
    return bytes(reply["buffers"][0]).decode("utf-8")


def test_work_over_the_comm_is_stored_restored_exported_and_imported(panel: RecordingPanel) -> None:
    # Given a panel connected to a session over the comm
    session_id = _connected(panel)

    # When the learner sends a message with their failing cell attached
    _send(panel, "cw-1", WORK)

    # Then the ack carries the stored work, and the course tutor answers
    ack = panel.wait_for_frame(lambda f: f["type"] == "ack")
    assert ack["message"]["work"] == WORK
    panel.wait_for_frame(lambda f: f["type"] == "message" and f["message"]["role"] == "tutor")

    # And the restore payload has it, by request and in the session frame of a new connection
    detail = panel.request("get_session", {"session_id": session_id})["result"]
    assert detail["messages"][0]["work"] == WORK
    panel.chat({"kind": "connect", "session_id": session_id})
    restored = [f for f in panel.frames() if f["type"] == "session"][-1]
    assert restored["session"]["messages"][0]["work"] == WORK

    # And every export format carries it
    document = json.loads(_export(panel, session_id, "json"))
    assert document["messages"][0]["work"] == WORK
    markdown = _export(panel, session_id, "markdown")
    assert "**Attached work** (cell 5):" in markdown
    assert "```python\nnumbers = [1, 2, 3]\nprint(numbers[3])\n```" in markdown
    assert "IndexError: list index out of range" in markdown
    notebook = nbformat.reads(_export(panel, session_id, "ipynb"), as_version=4)  # type: ignore[no-untyped-call]
    assert notebook.cells[1].metadata["tutornb"]["work"] == WORK

    # When the JSON export is imported into the kernel's store
    def do_import(service: TutorService) -> str:
        return service.import_session(OWNER, json.dumps(document)).id

    copy_id = panel.runtime.call(do_import)

    # Then the copy keeps the work
    copy = panel.request("get_session", {"session_id": copy_id})["result"]
    assert copy["messages"][0]["work"] == WORK


@pytest.mark.parametrize(
    "work",
    [
        {"code": "x" * 20_001},
        {"code": "print(1)", "cell_index": "4"},
        {"code": "print(1)", "traceback": ["..."]},
        {"error": "IndexError"},
        {},
    ],
    ids=["code-too-long", "index-as-text", "unknown-key", "no-code", "empty-object"],
)
def test_bad_work_over_the_comm_is_refused_and_nothing_is_stored(panel: RecordingPanel, work: Any) -> None:
    # Given a connected panel
    session_id = _connected(panel)

    # When a message arrives with malformed work
    _send(panel, "bad-w", work)

    # Then an INVALID_REQUEST error frame names the message, and nothing is stored
    error = panel.wait_for_frame(lambda f: f["type"] == "error")
    assert (error["code"], error["client_id"]) == ("INVALID_REQUEST", "bad-w")
    stored = panel.request("get_session", {"session_id": session_id})["result"]
    assert stored["message_count"] == 0
