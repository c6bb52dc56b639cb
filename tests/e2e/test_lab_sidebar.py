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
