"""Helpers for the learner-journey browser tests (``test_journey.py``, ``test_crash_journey.py``).

Plain helpers, not fixtures: the tests build on the harness fixtures in ``conftest.py``
(``lab_server``, ``browser``, ``lab``) and use these for what only the journeys need: a second,
fresh browser context (the learner comes back another day), a record of what the panel showed
while a reply streamed, the panel's hooks, the REST view of a session, and the kernels a killed
server leaves behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer, report_failure

DOCS = Path(__file__).resolve().parents[2] / "docs"

# Records, for every DOM change, whether the typing indicator is visible and the text of the reply
# being streamed (the panel renders each ``delta`` frame as it arrives). Each WebSocket frame is a
# task of its own, so the observer sees every intermediate state the learner could see.
WATCH_STREAMING = """() => {
  window.__tnbSeen = { typing: false, partials: [] };
  const look = () => {
    for (const typing of document.querySelectorAll('.tutornb-typing')) {
      if (!typing.hidden) window.__tnbSeen.typing = true;
    }
    for (const node of document.querySelectorAll(
        '[data-tutornb="message"][data-streaming="true"] .tutornb-text')) {
      const text = node.textContent;
      const partials = window.__tnbSeen.partials;
      if (text && partials[partials.length - 1] !== text) partials.push(text);
    }
  };
  new MutationObserver(look).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ['hidden', 'data-streaming'],
  });
}"""

STREAM_SEEN = "() => window.__tnbSeen"


@contextmanager
def fresh_page(browser: Any, server: LabServer, name: str) -> Iterator[Lab]:
    """A new browser context (no cookies, no localStorage, no open sockets) and a page in it.

    The learner closed the browser and comes back: nothing of the first visit survives on the
    client side. On a failure the page is saved next to the other e2e failure screenshots.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield Lab(page, server)
    except BaseException:
        report_failure(page, server, name)
        raise
    finally:
        context.close()


def open_panel(lab: Lab, notebook: str) -> Any:
    """Opens ``notebook``, loads the extension and runs ``%tutor``, as a learner does; the panel,
    once it is online (its pipe to the server chosen: text sent before that is not taken)."""
    lab.open_notebook(notebook)
    lab.run_cell("%load_ext tutornb")
    panel = lab.panel(lab.run_cell("%tutor"))
    expect(panel.locator("[data-tutornb='status']")).to_have_attribute("data-state", "online", timeout=30_000)
    return panel


def send(panel: Any, text: str) -> None:
    """Types ``text`` into the panel and presses Enter, as a learner does."""
    box = panel.locator("[data-tutornb='input']")
    box.fill(text)
    box.press("Enter")


def messages(panel: Any, role: str | None = None) -> Any:
    """Stored messages shown in the panel (not a reply still streaming, not an outbox entry)."""
    selector = "[data-tutornb='message']:not([data-streaming='true']):not([data-pending='true'])"
    if role is not None:
        selector += f"[data-role='{role}']"
    return panel.locator(selector)


def session_detail(server: LabServer, session_id: str) -> dict[str, Any]:
    """The restore payload of a session, as REST serves it."""
    with server.api() as api:
        response = api.get(f"tutornb/api/sessions/{session_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def only_session(server: LabServer, notebook: str) -> str:
    """The id of the one active-or-paused session of ``notebook``."""
    with server.api() as api:
        page = api.get(
            "tutornb/api/sessions", params={"notebook_path": notebook, "status": "active,paused"}
        ).json()
    assert page["total"] == 1, page
    return str(page["sessions"][0]["id"])


def save_screenshot(target: Any, name: str) -> None:
    """A screenshot of ``target`` (a locator or page) for the README, in ``docs/``."""
    DOCS.mkdir(exist_ok=True)
    target.screenshot(path=str(DOCS / name))


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (the kernels a Jupyter server started), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the parent pid follows the last ")".
        fields = stat.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_leftovers(pids: list[int], marker: str) -> None:
    """SIGKILLs those of ``pids`` still running with ``marker`` in their command line.

    The kernels of a SIGKILLed server normally notice their parent is gone and exit; this makes
    sure none outlives the test, and the marker (the test's own temp folder) makes sure a reused
    pid is never hit.
    """
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
