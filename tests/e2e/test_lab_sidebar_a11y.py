"""axe-core on the Tutor sidebar: no serious or critical violation in light and dark themes and at 200% zoom.

200% zoom is what a learner's browser zoom does: the same window, twice the CSS pixel size (a 1280x1000
window at 200% lays out as 640x500 CSS pixels).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, send
from .lab_helpers import open_sidebar
from .panel_helpers import axe_violations, open_quiz, set_theme


def sidebar_violations(page: Any) -> list[dict[str, Any]]:
    return axe_violations(page, "sidebar")


@pytest.fixture
def zoomed_lab(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Lab]:
    zoom = request.param
    context = browser.new_context(
        viewport={"width": int(1280 / zoom), "height": int(1000 / zoom)}, device_scale_factor=zoom
    )
    context.set_default_timeout(30_000)
    try:
        yield Lab(context.new_page(), lab_server)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("zoomed_lab", [1, 2], ids=["100%", "200%"], indirect=True)
@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_axe_finds_no_serious_violation_in_the_sidebar(
    zoomed_lab: Lab, lab_server: LabServer, theme: str
) -> None:
    lab = zoomed_lab
    set_theme(lab_server, theme)
    # No kernel is needed (and at 200% the toolbar hides the kernel indicator the harness waits for)
    lab.page.goto(lab.server.lab_url("lab/tree/03_functions.ipynb") + "&reset")
    lab.cells().first.wait_for(timeout=60_000)
    dark = lab.page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    assert dark == (theme == "JupyterLab Dark")
    root = open_sidebar(lab)
    panel = root.locator("[data-tutornb='panel']")
    offer = panel.locator("[data-tutornb='resume-offer']")
    greeting = panel.locator(".tutornb-greeting")
    expect(offer.or_(greeting)).to_be_visible(timeout=30_000)
    found: dict[str, list[dict[str, Any]]] = {"opened": sidebar_violations(lab.page)}
    if offer.count():
        offer.locator("[data-tutornb='new-session']").click()
    expect(greeting).to_be_visible()

    send(panel, "What is a default argument?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    found["chatting"] = sidebar_violations(lab.page)
    expect(open_quiz(panel)).to_have_count(1)
    found["quiz"] = sidebar_violations(lab.page)

    # The compose box stays on screen at any zoom (the sidebar scrolls inside, never off the window)
    expect(panel.locator("[data-tutornb='input']")).to_be_in_viewport()
    assert {state: v for state, v in found.items() if v} == {}
