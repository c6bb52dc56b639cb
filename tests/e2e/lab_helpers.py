"""Helpers for the JupyterLab extension's browser tests (the Tutor sidebar and the host side of the
page <-> host contract): dispatching the page's events, trusting a notebook, the sidebar's hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .conftest import Lab, LabServer

JUPYTER = str(Path(sys.executable).with_name("jupyter"))

# What the chat page does for anything that needs the host (docs/architecture.md, the page <-> host
# contract): a bubbling, cancelable CustomEvent on its root; defaultPrevented says the host did it.
DISPATCH = """([name, detail]) => {
  const root = document.querySelector('[data-tutornb="sidebar"]')
    || document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)') || document.body;
  const event = new CustomEvent(name, { detail, bubbles: true, composed: true, cancelable: true });
  root.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def dispatch(lab: Lab, name: str, detail: dict[str, Any]) -> bool:
    """Dispatches the page's event ``name``; whether the extension handled it."""
    return bool(lab.page.evaluate(DISPATCH, [name, detail]))


def trust(server: LabServer, notebook: str) -> None:
    """Trusts ``notebook`` the way a learner's ``jupyter trust`` would (the server's signature store)."""
    env = server._env()
    subprocess.run([JUPYTER, "trust", str(server.root / notebook)], env=env, check=True, capture_output=True)


def sidebar(lab: Lab) -> Any:
    return lab.page.locator("[data-tutornb='sidebar']")


def sidebar_tab(lab: Lab) -> Any:
    return lab.page.locator(".jp-SideBar .lm-TabBar-tab", has_text="Tutor")


def open_sidebar(lab: Lab) -> Any:
    """Opens the Tutor sidebar by its tab (as a learner would) and waits for its chat panel."""
    root = sidebar(lab)
    if not root.is_visible():
        sidebar_tab(lab).click()
    expect(root).to_be_visible()
    return root


def cited_notebook(root: Path, name: str, cells: int) -> None:
    """Writes a long notebook (``cells`` code cells, each printing its number) under ``root``."""
    document = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
             "source": f"print('cell {i}')"}
            for i in range(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "tutornb": {"course_id": "long", "module_id": "long-module", "module_title": "Long"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (root / name).write_text(json.dumps(document), encoding="utf-8")
