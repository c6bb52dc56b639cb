"""The real-browser harness: JupyterLab in a subprocess (the one live-server launcher, as
``jupyter lab``) and :class:`Lab`, what a learner does in it in playwright terms.

The e2e suite's fixtures (``lab_server``, ``browser``, ``browser_page``, ``lab`` in
``tests/e2e/conftest.py``), the hub test and ``bench/startup.py`` build on this module.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.live_server import LiveServer

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "notebooks"

# JupyterLab settings for a quiet, deterministic UI: no news/update toasts over the notebook, every
# cell in the DOM (no windowing), no autosave races with the tests.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


#: The one live-server launcher of the test suite (tests/support/live_server.py), here as jupyter lab.
LabServer = LiveServer


def start_lab(
    base: Path, *, extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None
) -> LabServer:
    """A lab serving a fresh copy of the sample course under ``base`` (used by ``lab_server``)."""
    shutil.copytree(
        COURSE, base / "root", ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints", "*.py")
    )
    server = LiveServer(
        base,
        app="lab",
        only_tutornb=False,
        extra_env=dict(extra_env or {}),
        extra_args=list(extra_args or []),
        lab_settings=LAB_SETTINGS,
    )
    server.start(timeout=90)
    return server


@contextmanager
def running_lab(
    *, extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None
) -> Iterator[LabServer]:
    """:func:`start_lab` in a fresh temp folder, stopped and removed on the way out."""
    base = Path(tempfile.mkdtemp(prefix="tutornb-lab-"))
    server = start_lab(base, extra_env=extra_env, extra_args=extra_args)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


class Lab:
    """What a learner does in JupyterLab, in playwright terms."""

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server
        self.notebook = ""

    def open_notebook(self, name: str) -> None:
        # ``reset``: start from an empty workspace, not the tabs an earlier test left open.
        self.notebook = name
        self.page.goto(self.server.lab_url(f"lab/tree/{name}") + "&reset")
        self.wait_for_idle_kernel(name)

    def wait_for_idle_kernel(self, name: str | None = None, timeout: float = 60) -> None:
        """Waits until the server has an idle kernel session for the notebook and the page shows it.

        The page's own indicator says "idle" before any kernel is attached, and a cell run then
        opens JupyterLab's "Select Kernel" dialog: the server's sessions API is the reliable signal.
        """
        name = name or self.notebook
        deadline = time.monotonic() + timeout
        with self.server.api() as api:
            while time.monotonic() < deadline:
                sessions = api.get("api/sessions").json()
                if any(
                    s.get("path") == name and (s.get("kernel") or {}).get("execution_state") == "idle"
                    for s in sessions
                ):
                    break
                self.page.wait_for_timeout(200)
            else:
                raise AssertionError(f"no idle kernel for {name} after {timeout:.0f}s")
        self.page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
            timeout=timeout * 1000
        )

    def cells(self) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def cell_index(self, source: str, timeout: float = 30_000) -> int:
        """Index of the first code cell whose source is exactly ``source`` (stripped).

        JupyterLab renders a long notebook's cells progressively, so this waits until the cell
        exists.
        """
        handle = self.page.wait_for_function(
            """(source) => {
                 const cells = Array.from(document.querySelectorAll(
                   '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
                 const index = cells.findIndex(c => c.classList.contains('jp-CodeCell') &&
                   Array.from(c.querySelectorAll('.jp-InputArea .cm-line'))
                     .map(l => l.textContent).join('\\n').trim() === source);
                 return index >= 0 ? index + 1 : 0;
               }""",
            arg=source,
            timeout=timeout,
        )
        return int(handle.json_value()) - 1

    def run_cell(self, source: str) -> Any:
        """Runs the code cell with this source (as a learner would: click, Shift+Enter)."""
        cell = self.cells().nth(self.cell_index(source))
        self._execute(cell)
        return cell

    def _execute(self, cell: Any) -> None:
        """Shift+Enter in ``cell`` until it starts running, then waits until it has run.

        Right after a notebook opens, JupyterLab may still be wiring the kernel or re-laying out the
        cells, and a keystroke can be lost; a cell whose prompt has not moved is simply tried again.
        """
        prompt = cell.locator(".jp-InputPrompt")
        before = prompt.inner_text().strip()
        started = False
        for _attempt in range(4):
            cell.scroll_into_view_if_needed()
            cell.locator(".jp-InputArea-editor").click()
            self.page.keyboard.press("Shift+Enter")
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                now = prompt.inner_text().strip()
                if now != before and re.fullmatch(r"\[(\*|\d+)\]:?", now):
                    started = True
                    break
                self.page.wait_for_timeout(100)
            if started:
                break
        if not started:
            raise AssertionError("the cell never started running")
        cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=60_000)

    def run_code(self, code: str) -> Any:
        """Adds a code cell at the end of the notebook, types ``code`` into it and runs it."""
        last = self.cells().last
        last.scroll_into_view_if_needed()
        last.locator(".jp-InputPrompt").click()
        count = self.cells().count()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        cell = self.cells().nth(count)
        cell.wait_for()
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.insert_text(code)
        self._execute(cell)
        return cell

    def panel(self, cell: Any) -> Any:
        """The chat panel rendered in ``cell``'s output."""
        panel = cell.locator("[data-tutornb='panel']")
        panel.wait_for(timeout=30_000)
        return panel


def report_failure(page: Any, server: LabServer, name: str) -> None:
    """What the learner would have seen (a screenshot in the temp folder) and the server's log
    tail, printed for the failure report of test ``name``."""
    shot = Path(tempfile.gettempdir()) / f"tutornb-e2e-{name}.png"
    try:
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the failing page: {shot}")
    except Exception as exc:
        print(f"\nno screenshot: {exc}")
    print(f"jupyter lab log (tail):\n{server.log_tail()}")
