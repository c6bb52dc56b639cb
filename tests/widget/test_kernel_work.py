"""A real IPython kernel captures the learner's last run, as JupyterLab drives it.

The kernel is started with jupyter_client and cells are sent as JupyterLab sends them: an
``execute_request`` whose metadata carries the cell's ``cellId``. The kernel maps that id to the
cell's index through the saved notebook (``JPY_SESSION_NAME``), keeps the run as ``last_work``, syncs
it to the panel's model over the widget comm, and ``%tutor ask`` takes it along.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = "01_lists_and_loops.ipynb"
FAILING = 'word = "Jupyter"\nword[0] = "j"\n'


@dataclass
class Run:
    """What one execute_request produced on IOPub."""

    stdout: str = ""
    displays: list[dict[str, Any]] = field(default_factory=list)
    comm_updates: list[dict[str, Any]] = field(default_factory=list)
    comm_opens: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass
class Kernel:
    client: BlockingKernelClient
    cell_ids: list[str]
    panel_comm: str = ""

    def to_panel(self, content: dict[str, Any]) -> None:
        """One comm message to the panel's model, as chat.js sends it (``model.send``)."""
        data = {"method": "custom", "content": content}
        message = self.client.session.msg("comm_msg", {"comm_id": self.panel_comm, "data": data})
        self.client.shell_channel.send(message)

    def from_panel(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        """The first custom message from the panel matching ``wanted`` (replies come from the
        tutornb loop thread, so they are matched by content, not by parent)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got = self.client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            body = got["content"]
            if got["msg_type"] != "comm_msg" or body.get("comm_id") != self.panel_comm:
                continue
            data = body["data"]
            if data.get("method") == "custom" and wanted(data["content"]):
                return dict(data["content"])
        raise AssertionError("the panel did not answer")

    def run(self, code: str, cell_id: str | None = None, timeout: float = 60) -> Run:
        metadata = {"cellId": cell_id} if cell_id else {}
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}}
        message = self.client.session.msg("execute_request", content, metadata=metadata)
        self.client.shell_channel.send(message)
        parent = message["header"]["msg_id"]
        run = Run()
        while True:
            try:
                got = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no idle after {code!r}") from None
            if got["parent_header"].get("msg_id") != parent:
                continue
            kind, body = got["msg_type"], got["content"]
            if kind == "stream" and body["name"] == "stdout":
                run.stdout += body["text"]
            elif kind == "display_data":
                run.displays.append(body["data"])
            elif kind == "comm_msg" and body["data"].get("method") == "update":
                run.comm_updates.append(body["data"]["state"])
            elif kind == "comm_open":
                run.comm_opens.append(body)
            elif kind == "error":
                run.error = body
            elif kind == "status" and body["execution_state"] == "idle":
                return run


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    base = tmp_path_factory.mktemp("kernel-work")
    root = base / "root"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints"))
    # The notebook as JupyterLab saves it: nbformat 4.5, every cell with an id.
    path = root / NOTEBOOK
    notebook = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    notebook.nbformat_minor = 5
    ids = [uuid.uuid4().hex[:12] for _ in notebook.cells]
    for cell, cell_id in zip(notebook.cells, ids, strict=True):
        cell["id"] = cell_id
    nbformat.write(notebook, str(path))  # type: ignore[no-untyped-call]
    env = {
        **os.environ,
        "JPY_SESSION_NAME": str(path),
        "TUTORNB_ROOT_DIR": str(root),
        "TUTORNB_STORE_DIR": str(base / "store"),
        "HOME": str(base),
    }
    env.pop("TUTORNB_TUTOR", None)
    manager: KernelManager
    manager, client = start_new_kernel(
        kernel_name="python3", cwd=str(root), env=env, startup_timeout=60, extra_arguments=[]
    )
    try:
        kernel = Kernel(client, ids)
        setup = kernel.run("import json\n%load_ext tutornb\nimport tutornb\npanel = tutornb.chat()\n")
        assert setup.error is None, setup.error
        kernel.panel_comm = next(
            o["comm_id"]
            for o in setup.comm_opens
            if o["data"]["state"].get("_anywidget_id", "").endswith("ChatPanel")
        )
        yield kernel
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_failing_cell_becomes_last_work_with_its_index_and_short_error(kernel: Kernel) -> None:
    # When the learner runs the notebook's cell 7 (index 6) and it fails
    run = kernel.run(FAILING, cell_id=kernel.cell_ids[6])

    # Then the panel's model is told the new last_work over the comm, in the documented shape
    assert run.error is not None  # the learner still sees their own traceback
    updates = [u["last_work"] for u in run.comm_updates if "last_work" in u]
    assert updates, run.comm_updates
    work = updates[-1]
    assert set(work) == {"cell_index", "code", "error"}
    assert work["cell_index"] == 6
    assert work["code"] == FAILING
    lines = work["error"].splitlines()
    assert lines[0].startswith("Cell In[")
    assert lines[0].endswith("], line 2")
    assert lines[1] == '    word[0] = "j"'
    assert lines[2] == "TypeError: 'str' object does not support item assignment"
    assert "\x1b[" not in work["error"]
    assert len(work["error"]) < 300  # no full traceback

    # When the learner then asks the tutor about it
    asked = kernel.run("%tutor ask what should I change?")

    # Then the reply is rich display (Markdown and plain text) and says the run went with it
    assert asked.error is None, asked.error
    assert len(asked.displays) == 1
    shown = asked.displays[0]
    assert {"text/markdown", "text/plain"} <= set(shown)
    assert shown["text/plain"].endswith("Asked with your last run (cell 7, and its error).")
    # And that tutor cell did not replace the learner's last run
    check = kernel.run("print(json.dumps(panel.last_work))")
    assert json.loads(check.stdout) == work


def test_a_cell_unknown_to_the_saved_notebook_has_no_index(kernel: Kernel) -> None:
    # When a cell the saved notebook does not hold yet runs fine
    run = kernel.run("total = sum(range(4))\n", cell_id="not-saved-yet")

    # Then last_work has its code and neither an index nor an error
    updates = [u["last_work"] for u in run.comm_updates if "last_work" in u]
    assert updates[-1] == {"code": "total = sum(range(4))\n"}


def test_the_page_sends_last_work_over_a_real_kernel_comm(kernel: Kernel) -> None:
    # Given a failing run the panel's model now holds as last_work
    run = kernel.run("scores = {'ann': 3}\nscores['bob']\n", cell_id=kernel.cell_ids[2])
    work = [u["last_work"] for u in run.comm_updates if "last_work" in u][-1]
    assert work["error"].endswith("KeyError: 'bob'")

    # When the page (chat.js over the comm) creates a session, connects, and sends a message with it
    kernel.to_panel({"kind": "request", "id": "r-1", "method": "create_session", "params": {}})
    created = kernel.from_panel(lambda c: c.get("id") == "r-1")
    assert created["ok"], created
    session_id = created["result"]["id"]
    kernel.to_panel({"kind": "connect", "session_id": session_id})
    kernel.from_panel(lambda c: c.get("frame", {}).get("type") == "session")
    frame = {"type": "message", "client_id": "k-1", "text": "Ask about my last error", "work": work}
    kernel.to_panel({"kind": "frame", "frame": frame})

    # Then the kernel's service acknowledges the stored message with the work, over the real comm
    ack = kernel.from_panel(lambda c: c.get("frame", {}).get("type") == "ack")
    assert ack["session_id"] == session_id
    assert ack["frame"]["message"]["work"] == work
    assert work["cell_index"] == 2
