"""The JupyterLab extension's navigation and Insert/Replace, driven through the page <-> host contract.

The chat page (in the sidebar or in a notebook's output) asks the host for these by dispatching
`tutornb:navigate` and `tutornb:insert-code`; the extension handles them with JupyterLab's own APIs.
These tests dispatch the events as the page does and check what the learner sees: the cited notebook
open in this JupyterLab with the cited cell active and in view, in an untrusted and a trusted notebook,
with no dialog at any point (JupyterLab's CommandLinker would ask "Run Command? ... Trust" here), and in
a windowed notebook whose cited cell is not in the DOM yet.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import COURSE, LAB_SETTINGS, Lab, LabServer

from .lab_helpers import cited_notebook, dispatch, trust
from .panel_helpers import active_cell_index, cell_count, cell_source
from .test_panel_citations_errors import last_code_cell

HERE = "01_lists_and_loops.ipynb"
OTHER = "02_dictionaries.ipynb"
LONG = "long_notebook.ipynb"
LONG_CELLS = 120


def expect_active_cell_in_view(lab: Lab, index: int) -> None:
    cell = lab.cells().nth(index)
    expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=30_000)
    expect(cell).to_be_in_viewport()
    # While a tab switch settles two notebook panels can be unhidden for a moment: wait for the one
    # shown to have exactly this cell active.
    lab.page.wait_for_function(
        """(index) => Array.from(document.querySelectorAll(
             '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
             .findIndex((c) => c.classList.contains('jp-mod-active')) === index""",
        arg=index,
        timeout=30_000,
    )
    assert active_cell_index(lab) == index


def current_tab(lab: Lab, name: str) -> Any:
    return lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=name)


@pytest.mark.browser
@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_a_citation_opens_the_other_notebook_at_the_cell_without_any_dialog(
    lab: Lab, lab_server: LabServer, trusted: bool
) -> None:
    if trusted:
        trust(lab_server, HERE)
        trust(lab_server, OTHER)
    lab.open_notebook(HERE)
    cited = last_code_cell(OTHER)

    assert dispatch(lab, "tutornb:navigate", {"notebook_path": OTHER, "cell_index": cited})

    expect(current_tab(lab, OTHER)).to_have_count(1, timeout=30_000)
    expect_active_cell_in_view(lab, cited)
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)

    # Back into the first notebook (already open: its tab is shown, not a second copy of it)
    assert dispatch(lab, "tutornb:navigate", {"notebook_path": HERE, "cell_index": 2})
    expect(current_tab(lab, HERE)).to_have_count(1, timeout=30_000)
    expect(lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=HERE)).to_have_count(1)
    expect_active_cell_in_view(lab, 2)
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)


@pytest.mark.browser
def test_a_citation_the_host_cannot_reach_is_left_to_the_page(lab: Lab) -> None:
    lab.open_notebook(HERE)
    # Not the contract's shape: the extension does not claim it (the page shows its text fallback).
    assert not dispatch(lab, "tutornb:navigate", {"notebook_path": OTHER, "cell_index": -1})
    assert not dispatch(lab, "tutornb:navigate", {"notebook_path": "", "cell_index": 0})


@pytest.fixture(scope="module")
def windowed_lab() -> Iterator[LabServer]:
    """A lab whose notebooks are fully windowed (cells far from view are not in the DOM)."""
    base = Path(tempfile.mkdtemp(prefix="tutornb-lab-windowed-"))
    settings = dict(LAB_SETTINGS)
    settings["@jupyterlab/notebook-extension/tracker.jupyterlab-settings"] = {"windowingMode": "full"}
    skip = shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints", "*.py")
    shutil.copytree(COURSE, base / "root", ignore=skip)
    cited_notebook(base / "root", LONG, LONG_CELLS)
    server = LabServer(base, app="lab", only_tutornb=False, lab_settings=settings)
    server.start(timeout=90)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.browser
def test_a_citation_reaches_a_cell_a_windowed_notebook_has_not_rendered(
    browser_page: Any, windowed_lab: LabServer
) -> None:
    lab = Lab(browser_page, windowed_lab)
    lab.open_notebook(HERE)
    target = LONG_CELLS - 3
    marker = f"print('cell {target}')"
    # Open the long notebook at its top first: the target cell is windowed out of the DOM.
    assert dispatch(lab, "tutornb:navigate", {"notebook_path": LONG, "cell_index": 0})
    expect(current_tab(lab, LONG)).to_have_count(1, timeout=30_000)
    expect_active_cell_in_view(lab, 0)
    rendered = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-line", has_text=marker)
    expect(rendered).to_have_count(0)

    assert dispatch(lab, "tutornb:navigate", {"notebook_path": LONG, "cell_index": target})

    expect(rendered).to_be_in_viewport(timeout=30_000)
    active = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active")
    expect(active.locator(".cm-line", has_text=marker)).to_have_count(1)
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)


@pytest.mark.browser
def test_insert_puts_the_code_below_the_active_cell_and_replace_replaces_it(lab: Lab) -> None:
    lab.open_notebook(HERE)
    lab.cells().nth(3).locator(".jp-InputPrompt").click()
    expect(lab.cells().nth(3)).to_have_class(re.compile(r"\bjp-mod-active\b"))
    before = cell_count(lab)

    assert dispatch(lab, "tutornb:insert-code", {"code": "total = sum([1, 2, 3])", "mode": "below"})

    expect(lab.cells()).to_have_count(before + 1)
    assert active_cell_index(lab) == 4
    assert cell_source(lab, 4) == "total = sum([1, 2, 3])"

    assert dispatch(lab, "tutornb:insert-code", {"code": "print(total)", "mode": "replace"})

    expect(lab.cells()).to_have_count(before + 1)
    expect(lab.cells().nth(4).locator(".cm-line").first).to_have_text("print(total)")
    assert active_cell_index(lab) == 4
    # A request outside the contract is not the extension's
    assert not dispatch(lab, "tutornb:insert-code", {"code": "x", "mode": "sideways"})
