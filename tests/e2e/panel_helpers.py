"""Helpers for the panel's browser tests (keys, focus, axe-core, notebook cells)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, send

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"

# The hook of the element that has focus, or its tag when it has none.
FOCUSED = """() => {
  const a = document.activeElement;
  if (!a) return '';
  return a.getAttribute('data-tutornb') || a.getAttribute('data-action') || a.localName;
}"""

# axe-core on the panel only; JupyterLab's own UI is not ours to judge. The body is given the
# window's height while axe runs (JupyterLab's body has none, which hides every colour from axe).
RUN_AXE = """async (root) => {
  const panel = document.querySelector(`[data-tutornb="${root}"]`);
  const height = document.body.style.height;
  document.body.style.height = '100vh';
  try {
    const result = await axe.run(panel, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.slice(0, 5)
                       .map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }));
  } finally {
    document.body.style.height = height;
  }
}"""


def axe_violations(page: Any, root: str = "panel") -> list[dict[str, Any]]:
    """Serious and critical axe-core violations inside the panel (or the element whose
    ``data-tutornb`` is ``root``, e.g. the sidebar)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(RUN_AXE, root)
    return result


def cell_count(lab: Lab) -> int:
    return int(lab.cells().count())


def active_cell_index(lab: Lab) -> int:
    return int(
        lab.page.evaluate(
            """() => Array.from(document.querySelectorAll(
                 '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
                 .findIndex((c) => c.classList.contains('jp-mod-active'))"""
        )
    )


def cell_source(lab: Lab, index: int) -> str:
    return str(
        lab.cells()
        .nth(index)
        .evaluate(
            """(cell) => Array.from(cell.querySelectorAll('.jp-InputArea .cm-line'))
                 .map((l) => l.textContent).join('\\n')"""
        )
    )


def set_theme(server: LabServer, theme: str) -> None:
    """JupyterLab's theme for the next page load ("JupyterLab Light" / "JupyterLab Dark")."""
    target = (
        server.home / "lab-settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"theme": theme}), encoding="utf-8")


def tutor_cell_index(lab: Lab) -> int:
    return int(
        lab.page.evaluate(
            """() => Array.from(document.querySelectorAll(
                 '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
                 .findIndex((c) => c.querySelector('[data-tutornb="panel"]'))"""
        )
    )


def skip_offer(panel: Any, before: Any = None) -> bool:
    """Starts a new session when the panel offers an earlier one (an earlier test's); whether it did."""
    offer = panel.locator("[data-tutornb='resume-offer']")
    ready = panel.locator(".tutornb-greeting")
    expect(offer.or_(ready)).to_be_visible(timeout=30_000)
    if not offer.count():
        return False
    if before is not None:
        before()
    offer.locator("[data-tutornb='new-session']").click()
    expect(ready).to_be_visible()
    return True


def open_quiz(panel: Any) -> Any:
    """Asks for a quiz until a question with choice buttons is open; the open question."""
    question = panel.locator("[data-tutornb='quiz'][data-open='true']")
    for text in ("quiz me", "go", "yes"):
        replies = messages(panel, "tutor").count()
        send(panel, text)
        expect(messages(panel, "tutor")).to_have_count(replies + 1, timeout=30_000)
        if question.count():
            return question
    raise AssertionError("the tutor never opened a quiz question")


def import_session(server: LabServer, notebook: str, title: str, transcript: list[dict[str, Any]]) -> str:
    """A session of ``notebook`` with exactly ``transcript`` as its messages, made through the real
    export and import API (what a learner's imported file goes through); its new id."""
    with server.api() as api:
        created = api.post(
            "tutornb/api/sessions", json={"context": {"notebook_path": notebook}, "title": title}
        ).json()
        exported = api.get(f"tutornb/api/sessions/{created['id']}/export", params={"format": "json"})
        assert exported.status_code == 200, exported.text
        document = exported.json()
        document["messages"] = transcript
        imported = api.post("tutornb/api/sessions/import", json=document)
        assert imported.status_code == 201, imported.text
        return str(imported.json()["id"])


class ChatSockets:
    """Routes the panel's chat sockets through playwright so the test can take the server away."""

    def __init__(self) -> None:
        self.down = False
        self.open: list[tuple[Any, Any]] = []
        self.refused = 0

    def route(self, ws: Any) -> None:
        if self.down:
            self.refused += 1
            ws.close(code=1011, reason="server unreachable")
            return
        server = ws.connect_to_server()
        self.open.append((ws, server))

    def cut(self) -> None:
        """The server goes away: both ends of every open chat socket close."""
        self.down = True
        for ws, server in self.open:
            server.close()
            ws.close(code=1011, reason="server unreachable")
        self.open.clear()
