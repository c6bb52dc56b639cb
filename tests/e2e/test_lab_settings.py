"""The extension's settings (schema `labextension/schema/plugin.json`): the sidebar's side, and whether error
outputs get "Ask the tutor about this error". Written where JupyterLab keeps user settings, before the page
loads, as the Settings Editor would. (The defaults, right side and the button on, are what the other browser
tests of the extension run with.)"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .lab_helpers import open_sidebar

HERE = "01_lists_and_loops.ipynb"


def write_settings(server: LabServer, values: dict[str, object]) -> None:
    target = server.home / "lab-settings" / "tutornb" / "plugin.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(values), encoding="utf-8")


@pytest.mark.browser
def test_the_sidebar_moves_left_and_error_outputs_lose_the_button(lab: Lab, lab_server: LabServer) -> None:
    write_settings(lab_server, {"side": "left", "errorButton": False})
    try:
        lab.open_notebook(HERE)
        root = open_sidebar(lab)
        expect(lab.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab", has_text="Tutor")).to_have_count(1)
        expect(lab.page.locator("#jp-left-stack [data-tutornb='sidebar']")).to_have_count(1)
        expect(root).to_be_visible()

        cell = lab.run_code('"abc"[0] = "x"')
        expect(
            cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        ).to_be_visible()
        expect(cell.locator("[data-tutornb='ask-error']")).to_have_count(0)
    finally:
        write_settings(lab_server, {})
