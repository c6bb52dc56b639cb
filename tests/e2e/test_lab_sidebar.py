"""The Tutor sidebar of the JupyterLab extension, in a real JupyterLab and chromium.

The sidebar chats about the notebook the learner is in without any `%tutor` cell or kernel: it talks to
the server extension over REST and its WebSocket, and its context is the notebook's `metadata.tutornb`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer

from .journey_fixtures import messages, save_screenshot, send
from .lab_helpers import open_sidebar, trust
from .panel_helpers import active_cell_index, cell_count, cell_source, import_session
from .test_panel_citations_errors import last_code_cell

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
    save_screenshot(lab.page, "sidebar.png")  # the README's picture of the sidebar


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


@pytest.mark.browser
@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_the_sidebars_citations_and_code_actions_work_through_jupyterlab(
    lab: Lab, lab_server: LabServer, trusted: bool
) -> None:
    cited = last_code_cell(OTHER)
    now = "2026-01-01T10:00:00Z"
    transcript = [
        {"id": "a", "seq": 1, "role": "learner", "text": "How do I print?", "created_at": now,
         "client_id": "c1"},
        {"id": "b", "seq": 2, "role": "tutor", "created_at": now,
         "text": "Like this:\n\n```python\nprint('from the tutor')\n```\n\nSee the dictionaries notebook.",
         "citations": [{"notebook_path": OTHER, "cell_index": cited},
                       {"notebook_path": HERE, "cell_index": 2}]},
    ]  # fmt: skip
    import_session(lab_server, HERE, f"citing ({trusted})", transcript)
    if trusted:
        trust(lab_server, HERE)
        trust(lab_server, OTHER)
    lab.open_notebook(HERE)
    panel = open_sidebar(lab).locator("[data-tutornb='panel']")
    resume_offered(panel)
    # The reply with sources (a resume may add a "welcome back" recap after it)
    reply = messages(panel, "tutor").filter(has=lab.page.locator("[data-tutornb='citation']"))
    expect(reply.locator("[data-tutornb='citation']")).to_have_count(2)

    # A citation into another notebook: opened here at the cell, no dialog, the sidebar stays
    reply.locator(f"[data-tutornb='citation'][data-notebook='{OTHER}']").click()
    expect(
        lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=OTHER)
    ).to_have_count(1, timeout=30_000)
    expect(lab.cells().nth(cited)).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=30_000)
    expect(lab.cells().nth(cited)).to_be_in_viewport()
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)

    # The sidebar followed the learner into the other notebook; back to the first one by its citation
    expect(panel.locator("[data-tutornb='context']")).to_contain_text("Dictionaries", timeout=30_000)
    lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=HERE).click()
    resume_offered(panel)
    reply.locator(f"[data-tutornb='citation'][data-notebook='{HERE}']").click()
    expect(lab.cells().nth(2)).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=30_000)
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)

    # Insert puts the tutor's code below the learner's active cell; Replace replaces that cell's code
    before = cell_count(lab)
    code_block = reply.locator(".tutornb-code")
    code_block.locator("[data-tutornb='insert']").click()
    expect(lab.cells()).to_have_count(before + 1)
    assert active_cell_index(lab) == 3
    assert cell_source(lab, 3) == "print('from the tutor')"
    lab.cells().nth(5).locator(".jp-InputPrompt").click()
    code_block.locator("[data-tutornb='replace']").click()
    expect(lab.cells().nth(5).locator(".cm-line").first).to_have_text("print('from the tutor')")
    expect(lab.cells()).to_have_count(before + 1)
