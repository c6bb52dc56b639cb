"""The Tutor sidebar of the JupyterLab extension, in a real JupyterLab and chromium.

The sidebar chats about the notebook the learner is in without any `%tutor` cell or kernel: it talks to
the server extension over REST and its WebSocket, and its context is the notebook's `metadata.tutornb`.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Lab, LabServer
from .journey_fixtures import messages, send
from .lab_helpers import open_sidebar

HERE = "01_lists_and_loops.ipynb"
OTHER = "02_dictionaries.ipynb"


def sessions_of(server: LabServer, notebook: str) -> list[dict[str, Any]]:
    with server.api() as api:
        page = api.get("tutornb/api/sessions", params={"notebook_path": notebook}).json()
    return list(page["sessions"])


def shut_down_kernels(server: LabServer) -> None:
    """No kernel at all: the sidebar must not need one."""
    with server.api() as api:
        for kernel in api.get("api/kernels").json():
            assert api.delete(f"api/kernels/{kernel['id']}").status_code == 204
        assert api.get("api/kernels").json() == []


@pytest.mark.browser
def test_the_sidebar_chats_about_a_notebook_without_tutor_or_kernel(lab: Lab, lab_server: LabServer) -> None:
    lab.open_notebook(HERE)
    shut_down_kernels(lab_server)
    root = open_sidebar(lab)

    # The chat is about this notebook's course and module
    expect(root.locator("[data-tutornb='context']")).to_have_text("Python foundations \u203a Lists & loops")
    panel = root.locator("[data-tutornb='panel']")
    send(panel, "How do I loop over a list?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)

    [session] = sessions_of(lab_server, HERE)
    assert session["context"]["course_id"] == "python-foundations"
    assert session["message_count"] == 2


def open_in_file_browser(lab: Lab, name: str) -> None:
    """Opens ``name`` as a learner does: a double click in the file browser (no workspace reset)."""
    lab.page.locator(".jp-DirListing-item", has_text=name).dblclick()
    lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=name).wait_for()


def resume_offered(panel: Any) -> None:
    """The panel offers the notebook's earlier session: the learner takes it."""
    offer = panel.locator("[data-tutornb='resume-offer']")
    expect(offer).to_be_visible(timeout=30_000)
    offer.locator("[data-tutornb='resume']").click()
    expect(offer).to_have_count(0)


@pytest.mark.browser
def test_switching_notebooks_switches_the_sidebar_session_and_a_reload_keeps_both(
    lab: Lab, lab_server: LabServer
) -> None:
    lab.open_notebook("00_start_here.ipynb")
    root = open_sidebar(lab)
    panel = root.locator("[data-tutornb='panel']")
    send(panel, "What is a variable?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    [first] = sessions_of(lab_server, "00_start_here.ipynb")

    # Another notebook: the sidebar follows it, with that notebook's course and no earlier session
    open_in_file_browser(lab, "03_functions.ipynb")
    expect(root.locator("[data-tutornb='context']")).to_contain_text("Functions", timeout=30_000)
    expect(panel.locator(".tutornb-greeting")).to_be_visible(timeout=30_000)
    expect(messages(panel)).to_have_count(0)
    send(panel, "What does return do?")
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    [second] = sessions_of(lab_server, "03_functions.ipynb")
    assert second["id"] != first["id"]

    # Back to the first notebook: its own session is offered again, with its transcript
    lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="00_start_here.ipynb").click()
    expect(root.locator("[data-tutornb='context']")).to_contain_text("Start here", timeout=30_000)
    resume_offered(panel)
    expect(messages(panel, "learner")).to_contain_text(["What is a variable?"], timeout=30_000)

    # A reload: the sidebar is still open (the workspace remembers it) and the session comes back
    lab.page.reload()
    root = lab.page.locator("[data-tutornb='sidebar']")
    expect(root).to_be_visible(timeout=60_000)
    panel = root.locator("[data-tutornb='panel']")
    expect(root.locator("[data-tutornb='context']")).to_contain_text("Start here", timeout=60_000)
    resume_offered(panel)
    expect(messages(panel, "learner")).to_contain_text(["What is a variable?"], timeout=30_000)
    assert len(sessions_of(lab_server, "00_start_here.ipynb")) == 1
