"""The panel with a model tutor (the OpenAI-compatible tutor against a real HTTP server on loopback):
a failed turn shows its error next to the question, without the endpoint's address, with Retry; a
streamed reply renders as Markdown while it streams; Stop ends a turn and the stored reply is
marked "stopped".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.lab import Lab, LabServer, running_lab
from tests.support.model_server import ModelServer, failure, stream

from .journey_fixtures import messages, open_panel, send
from .panel_helpers import skip_offer

NOTEBOOK = "01_lists_and_loops.ipynb"
CHAT_SOCKET = re.compile(r"/tutornb/api/sessions/[^/?]+/chat(\?.*)?$")


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    server = ModelServer(scripted=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_server(model: ModelServer) -> Iterator[LabServer]:
    options = {
        "base_url": f"http://127.0.0.1:{model.port}/v1",
        "model": "test",
        "timeout": 20,
        "max_retry_after": 0,
    }
    tutor = ["--TutorNBApp.tutor=openai", f"--TutorNBApp.tutor_options={json.dumps(options)}"]
    with running_lab(extra_args=tutor) as server:
        yield server


@pytest.mark.browser
@pytest.mark.usefixtures("browser_page")
def test_a_failed_turn_retries_in_place_and_a_streamed_reply_renders_markdown(
    lab: Lab, model: ModelServer
) -> None:
    panel = open_panel(lab, NOTEBOOK)

    # Given a model service that fails the first request
    model.scripts.put(failure(500))

    # When the learner asks a question
    send(panel, "How do I loop with an index?")

    # Then the error sits under that question, offers Retry, and never shows the endpoint's address
    question = messages(panel, "learner").first
    error = question.locator("[data-tutornb='error']")
    expect(error).to_be_visible(timeout=30_000)
    expect(panel.locator("[data-tutornb='error']")).to_have_count(1)
    shown = panel.inner_text()
    assert f":{model.port}" not in shown, shown
    assert "127.0.0.1" not in shown, shown

    # When the service is back, streaming a Markdown reply slowly, and the learner presses Retry
    model.scripts.put(
        stream(
            [
                "Use **enumer",
                "ate**:\n\n",
                "```python\nfor i, x in ",
                "enumerate(xs):\n",
                "    print(i, x)\n```\n",
                "Done.",
            ],
            pause=0.4,
        )
    )
    error.locator("[data-tutornb='retry']").click()

    # Then while it streams, the reply is already rendered Markdown (bold, code block), not raw
    streaming = panel.locator("[data-tutornb='message'][data-streaming='true']")
    expect(streaming.locator("strong")).to_have_text("enumerate", timeout=30_000)
    expect(streaming.locator("pre")).to_have_count(1, timeout=30_000)
    assert "**" not in (streaming.inner_text() or "")

    # And the stored reply replaces it, and the error is gone
    expect(messages(panel, "tutor")).to_have_count(1, timeout=30_000)
    expect(messages(panel, "tutor").first.locator("strong")).to_have_text("enumerate")
    expect(panel.locator("[data-tutornb='error']")).to_have_count(0)


@pytest.mark.browser
def test_stop_ends_the_turn_and_the_reply_is_marked_stopped(
    lab: Lab, model: ModelServer, browser_page: Any
) -> None:
    page = browser_page
    sent: list[dict[str, Any]] = []

    def route(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str):
                sent.append(json.loads(message))
            server.send(message)

        ws.on_message(from_page)

    page.context.route_web_socket(CHAT_SOCKET, route)
    panel = open_panel(lab, NOTEBOOK)
    skip_offer(panel)

    # Given a long answer streaming slowly
    words = [f"word{i} " for i in range(60)]
    model.scripts.put(stream(words, pause=0.25))
    send(panel, "Tell me everything about lists")
    streaming = panel.locator("[data-tutornb='message'][data-streaming='true']")
    expect(streaming).to_contain_text("word2", timeout=30_000)

    # When the learner presses Stop
    stop = panel.locator("[data-tutornb='stop']")
    expect(stop).to_be_visible()
    stop.click()

    # Then a stop frame went to the server, the turn ends, and the stored reply is what was said,
    # marked "stopped"
    assert {"type": "stop"} in sent
    reply = messages(panel, "tutor").last
    expect(reply).to_have_attribute("data-interrupted", "stopped", timeout=30_000)
    expect(reply).to_contain_text("Stopped")
    assert "word59" not in (reply.inner_text() or "")
    expect(stop).to_be_hidden()
    assert page.evaluate("() => document.activeElement?.getAttribute('data-tutornb')") == "input"
