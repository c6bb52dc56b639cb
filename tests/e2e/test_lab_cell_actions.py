"""The extension's actions on the learner's cell, its commands and its shortcut, in a real JupyterLab.

- every error output gets "Ask the tutor about this error", which sends that cell's code and error to the
  Tutor sidebar as the message's `work`; the cell's context menu asks about it too;
- the sidebar offers "Ask about my last error" whenever the last run failed, in a session with messages too;
- the palette commands and the default shortcut (Alt+Shift+T) open and drive the sidebar.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages
from .lab_helpers import sidebar, sidebar_tab

HERE = "01_lists_and_loops.ipynb"
FAILING = '"abc"[0] = "x"'
REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "labextension" / "schema" / "plugin.json"
FOCUSED_HOOK = "() => document.activeElement && document.activeElement.getAttribute('data-tutornb')"


def learner_works(server: LabServer, notebook: str) -> list[dict[str, Any] | None]:
    """The `work` of every learner message of the notebook's sessions (the server's record)."""
    with server.api() as api:
        page = api.get("tutornb/api/sessions", params={"notebook_path": notebook}).json()
        works = []
        for summary in page["sessions"]:
            detail = api.get(f"tutornb/api/sessions/{summary['id']}").json()
            works += [m.get("work") for m in detail["messages"] if m["role"] == "learner"]
    return works


@pytest.mark.browser
def test_the_error_output_button_sends_the_cells_code_and_error_to_the_sidebar(
    lab: Lab, lab_server: LabServer
) -> None:
    lab.open_notebook(HERE)
    cell = lab.run_code(FAILING)
    button = (
        cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        .locator("xpath=..")
        .locator("[data-tutornb='ask-error']")
    )
    expect(button).to_have_text("Ask the tutor about this error", timeout=30_000)
    expect(lab.cells().locator("[data-tutornb='ask-error']")).to_have_count(1)  # only the error output

    button.click()

    root = sidebar(lab)
    expect(root).to_be_visible()
    panel = root.locator("[data-tutornb='panel']")
    expect(messages(panel, "learner")).to_have_count(1, timeout=30_000)
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    [work] = learner_works(lab_server, HERE)
    assert work is not None
    assert work["code"] == FAILING
    assert "TypeError" in work["error"]
    assert "\x1b[" not in work["error"]
    assert work["cell_index"] == lab.cell_index(FAILING)

    # The last run failed: the sidebar keeps offering to ask about it, in this non-empty session too
    offer = panel.locator("[data-suggestion='error']")
    expect(offer).to_have_text("Ask about my last error")
    offer.click()
    expect(messages(panel, "learner")).to_have_count(2, timeout=30_000)
    assert [w and w["code"] for w in learner_works(lab_server, HERE)] == [FAILING, FAILING]

    # A run that succeeds: no error to ask about any more
    lab.run_code("print('fine')")
    expect(offer).to_have_count(0, timeout=30_000)


@pytest.mark.browser
def test_the_cell_context_menu_asks_about_that_cell(lab: Lab, lab_server: LabServer) -> None:
    lab.open_notebook(HERE)
    before = len(learner_works(lab_server, HERE))
    cell = lab.run_code("numbers = [3, 1, 2]\nnumbers.sort()")
    cell.locator(".jp-InputArea-editor").click(button="right")
    lab.page.locator(".lm-Menu-item", has_text="Ask the Tutor about the Active Cell").click()

    expect(sidebar(lab)).to_be_visible()
    panel = sidebar(lab).locator("[data-tutornb='panel']")
    expect(messages(panel, "tutor").last).to_be_visible(timeout=30_000)
    works = learner_works(lab_server, HERE)
    assert len(works) == before + 1
    assert any(w and w["code"] == "numbers = [3, 1, 2]\nnumbers.sort()" and "error" not in w for w in works)


@pytest.mark.browser
def test_the_shortcut_and_the_palette_open_and_drive_the_sidebar(lab: Lab) -> None:
    lab.open_notebook(HERE)
    expect(sidebar(lab)).to_be_hidden()

    # Alt+Shift+T from the notebook: the sidebar opens with the keyboard focus in it
    lab.cells().first.click()
    lab.page.keyboard.press("Escape")
    lab.page.keyboard.press("Alt+Shift+T")
    expect(sidebar(lab)).to_be_visible()
    # (on the message box, or on Resume when the sidebar offers an earlier session of this notebook)
    lab.page.wait_for_function(f"() => ['input', 'resume'].includes(({FOCUSED_HOOK})())")

    # Closed again by its tab; the palette's "Open the Tutor" brings it back
    sidebar_tab(lab).click()
    expect(sidebar(lab)).to_be_hidden()
    lab.page.keyboard.press("Control+Shift+C")
    palette = lab.page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_focused()
    palette.fill("Open the Tutor")
    expect(lab.page.locator(".lm-CommandPalette-item.lm-mod-active")).to_contain_text("Open the Tutor")
    lab.page.keyboard.press("Enter")
    expect(sidebar(lab)).to_be_visible()

    # Every command is in the palette under "Tutor"
    lab.page.keyboard.press("Control+Shift+C")
    palette.fill("Tutor")
    items = lab.page.locator(".lm-CommandPalette-item")
    for label in ("Open the Tutor", "Ask the Tutor about the Active Cell", "New Tutor Session",
                  "Tutor Session History"):  # fmt: skip
        expect(items.filter(has_text=label)).to_have_count(1)
    palette.fill("Tutor Session History")
    lab.page.keyboard.press("Enter")
    expect(sidebar(lab).locator("[data-tutornb='history']")).to_be_visible()


def test_the_default_shortcut_conflicts_with_none_of_jupyterlabs() -> None:
    """Alt+Shift+T is bound by no JupyterLab plugin installed here (every schema's shortcuts)."""
    ours = {
        " ".join(s["keys"]) for s in json.loads(SCHEMA.read_text(encoding="utf-8"))["jupyter.lab.shortcuts"]
    }
    assert ours == {"Alt Shift T"}
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    taken: dict[str, str] = {}
    files = list(schemas.rglob("*.json"))
    assert len(files) > 50, schemas
    for path in files:
        for shortcut in json.loads(path.read_text(encoding="utf-8")).get("jupyter.lab.shortcuts", []):
            taken[" ".join(shortcut["keys"])] = shortcut["command"]
    assert "Accel Shift C" in taken  # the palette: the list is really JupyterLab's
    assert not ours & set(taken), {k: taken[k] for k in ours & set(taken)}
    assert re.fullmatch(r"Alt Shift [A-Z]", next(iter(ours)))
