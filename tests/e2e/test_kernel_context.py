"""A kernel started by a real jupyter-server finds its notebook, with and without JPY_SESSION_NAME.

Without the variable (an older server, or a notebook renamed since the kernel started), the kernel
asks the server's sessions API, found through the runtime file the server wrote.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import websocket

from tests.support.lab import LabServer

NOTEBOOK = "00_start_here.ipynb"


def _execute(server: LabServer, kernel_id: str, code: str, timeout: float = 60) -> str:
    """Runs ``code`` in the kernel over the server's kernel socket; returns what it printed."""
    url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?token={server.token}"
    ws = websocket.create_connection(url, timeout=timeout)
    msg_id = uuid.uuid4().hex
    request: dict[str, Any] = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": uuid.uuid4().hex,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False},
        "channel": "shell",
        "buffers": [],
    }
    printed: list[str] = []
    try:
        ws.send(json.dumps(request))
        while True:
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                return "".join(printed)
    finally:
        ws.close()


def test_the_kernel_finds_its_notebook_through_the_server(lab_server: LabServer) -> None:
    # Given a kernel that jupyter-server started for a course notebook
    with lab_server.api() as api:
        session = api.post(
            "api/sessions",
            json={
                "path": NOTEBOOK,
                "name": NOTEBOOK,
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        ).json()
    kernel_id = session["kernel"]["id"]
    show = (
        "from tutornb.kernel.context import current_context\n"
        "found = current_context()\n"
        "print(found.notebook_path, found.course.module_id, found.has_metadata)\n"
    )

    # When it reads its context as jupyter-server set it up (JPY_SESSION_NAME)
    direct = _execute(lab_server, kernel_id, show)

    # And again without the variable, so only the server's sessions API can tell
    fallback = _execute(lab_server, kernel_id, "import os\nos.environ.pop('JPY_SESSION_NAME', None)\n" + show)

    # Then both ways name the notebook (relative to the server root) and its module
    assert direct.split() == [NOTEBOOK, "start-here", "True"]
    assert fallback.split() == direct.split()
    with lab_server.api() as api:
        api.delete(f"api/sessions/{session['id']}")
