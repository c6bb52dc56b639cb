"""A kernel-side runtime on a temp store and a copy of the sample course, and a panel that records
what it would send to the page."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tutornb.kernel.context import read_context
from tutornb.kernel.runtime import KernelRuntime
from tutornb.service import TutorService
from tutornb.widget import ChatPanel

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
OWNER = "learner"


@pytest.fixture
def course_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints"))
    return root


@pytest.fixture
def runtime(course_root: Path, tmp_path: Path) -> Iterator[KernelRuntime]:
    store = tmp_path / "store"
    rt = KernelRuntime(lambda: TutorService.open(root_dir=course_root, store_dir=store))
    try:
        yield rt
    finally:
        rt.close()


class RecordingPanel(ChatPanel):
    """A ChatPanel whose messages to the page are kept for the test instead of sent over a comm."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes] | None]] = []
        self._sent_lock = threading.Lock()
        super().__init__(**kwargs)

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with self._sent_lock:
            self.sent.append((content, buffers))

    def frames(self) -> list[dict[str, Any]]:
        with self._sent_lock:
            return [c["frame"] for c, _ in self.sent if c.get("kind") == "frame"]

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request/response round trip, exactly as the page's CommPipe does it."""
        request_id = f"req-{len(self.sent)}-{method}"
        future = self.handle_message(
            {"kind": "request", "id": request_id, "method": method, "params": params or {}}
        )
        assert future is not None
        future.result(30)
        with self._sent_lock:
            replies = [(c, b) for c, b in self.sent if c.get("id") == request_id]
        assert len(replies) == 1
        content, buffers = replies[0]
        return {**content, "buffers": buffers}

    def chat(self, content: dict[str, Any]) -> None:
        future = self.handle_message(content)
        assert future is not None
        future.result(30)

    def wait_for_frame(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """The first frame matching ``predicate``; waits while the tutor's background turn runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames():
                if predicate(frame):
                    return frame
            time.sleep(0.02)
        raise AssertionError(f"no matching frame; got {[f.get('type') for f in self.frames()]}")


@pytest.fixture
def make_panel(runtime: KernelRuntime) -> Iterator[Callable[..., RecordingPanel]]:
    panels: list[RecordingPanel] = []

    def make(**kwargs: Any) -> RecordingPanel:
        panel = RecordingPanel(runtime=runtime, owner=OWNER, **kwargs)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()


NOTEBOOK = "01_lists_and_loops.ipynb"
#: The course fields of a panel's context that ``create_session`` takes.
CONTEXT_KEYS = {"course_id", "course_title", "module_id", "module_title", "notebook_path"}


@pytest.fixture
def panel(make_panel: Callable[..., RecordingPanel], course_root: Path) -> RecordingPanel:
    context = read_context(course_root / NOTEBOOK, course_root)
    return make_panel(context=context.as_dict(), notebook_path=context.notebook_path)


def create_session(panel: RecordingPanel) -> str:
    """A new session for the panel's notebook, created over the comm; returns its id."""
    body = {"context": {k: v for k, v in panel.context.items() if k in CONTEXT_KEYS and v}}
    reply = panel.request("create_session", body)
    assert reply["ok"], reply
    return str(reply["result"]["id"])
