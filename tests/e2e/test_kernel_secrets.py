"""No secret in a kernel, and no policy from the learner's environment (a real JupyterLab, a real
kernel, a loopback OpenAI-protocol model that records what it is sent).

The admin configures the model tutor with an API key and a policy. A kernel the server started
holds neither (any cell could print them), and a learner who puts their own tutor options and a
permissive policy into the kernel's environment still gets, from ``%tutor ask``, the server's
tutor: the model sees the admin's key and the admin's policy.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.lab import LabServer, start_lab

from .test_kernel_context import _execute as execute

NOTEBOOK = "01_lists_and_loops.ipynb"
ADMIN_KEY = "sk-admin-secret-4f1c"
ADMIN_MARK = "ADMIN-POLICY-7731"
LEARNER_KEY = "sk-learner-own-9d2e"
LEARNER_MARK = "LEARNER-POLICY-5550"


class RecordingModel:
    """An OpenAI-protocol endpoint answering every request with one short streamed reply."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                recorded.append({"authorization": self.headers.get("Authorization"), "body": body})
                chunk = {
                    "choices": [{"index": 0, "delta": {"content": "Try a for loop."}, "finish_reason": None}]
                }
                done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                payload = (
                    f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def model() -> Iterator[RecordingModel]:
    server = RecordingModel()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_server(model: RecordingModel) -> Iterator[LabServer]:
    base = Path(tempfile.mkdtemp(prefix="tutornb-lab-"))
    options = {"base_url": model.url, "api_key": ADMIN_KEY, "model": "test", "timeout": 20}
    policy = {"solutions": "never", "instructions": ADMIN_MARK}
    server = start_lab(
        base,
        extra_args=[
            "--TutorNBApp.tutor=openai",
            f"--TutorNBApp.tutor_options={json.dumps(options)}",
            f"--TutorNBApp.policy={json.dumps(policy)}",
        ],
    )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _kernel(server: LabServer) -> str:
    with server.api() as api:
        session = api.post(
            "api/sessions",
            json={"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}},
        ).json()
    return str(session["kernel"]["id"])


def test_a_kernel_holds_neither_the_api_key_nor_the_policy(lab_server: LabServer) -> None:
    # Given a kernel the server started; When a cell prints its whole environment
    printed = execute(lab_server, _kernel(lab_server), "import os, json\nprint(json.dumps(dict(os.environ)))")
    environment = json.loads(printed)
    # Then the key and the policy are nowhere in it
    assert ADMIN_KEY not in printed
    assert ADMIN_MARK not in printed
    assert "TUTORNB_TUTOR_OPTIONS" not in environment
    assert "TUTORNB_TUTOR" not in environment
    # And it knows where to ask instead
    assert environment["TUTORNB_SERVER_URL"].startswith("http://127.0.0.1:")
    assert environment["TUTORNB_KERNEL_TOKEN"] != lab_server.token


def test_tutor_ask_uses_the_servers_tutor_whatever_the_kernel_says(
    lab_server: LabServer, model: RecordingModel
) -> None:
    # Given a learner who sets their own tutor, key and a permissive policy in the kernel
    kernel = _kernel(lab_server)
    mine = {
        "base_url": model.url,
        "api_key": LEARNER_KEY,
        "model": "mine",
        "policy": {"solutions": "always", "instructions": LEARNER_MARK},
    }
    execute(
        lab_server,
        kernel,
        "import os, json\n"
        "os.environ['TUTORNB_TUTOR'] = 'openai'\n"
        f"os.environ['TUTORNB_TUTOR_OPTIONS'] = {json.dumps(json.dumps(mine))}\n"
        "get_ipython().run_line_magic('load_ext', 'tutornb')\n",
    )
    before = len(model.requests)
    # When they ask for the full solution
    printed = execute(
        lab_server, kernel, "get_ipython().run_line_magic('tutor', 'ask give me the full solution')"
    )
    # Then the server's tutor answered: the model saw the admin's key and policy, not theirs
    assert "tutornb:" not in printed, printed
    sent = model.requests[before:]
    assert sent, "the model was never asked"
    for request in sent:
        assert request["authorization"] == f"Bearer {ADMIN_KEY}"
        prompt = json.dumps(request["body"]["messages"])
        assert ADMIN_MARK in prompt
        assert LEARNER_MARK not in prompt
        assert request["body"]["model"] == "test"


def test_the_kernel_token_opens_the_ask_route_only(lab_server: LabServer) -> None:
    # Given the token a kernel of this server holds
    printed = execute(lab_server, _kernel(lab_server), "import os\nprint(os.environ['TUTORNB_KERNEL_TOKEN'])")
    token = printed.strip()
    base = f"http://127.0.0.1:{lab_server.port}/tutornb/api/"
    question = {"context": {"notebook_path": NOTEBOOK}, "text": "What is a list?"}
    with httpx.Client(timeout=60) as client:
        # Then it cannot list sessions or read anything else
        listed = client.get(base + "sessions", headers={"X-TutorNB-Kernel-Token": token})
        assert listed.status_code == 403
        # And a wrong token cannot ask
        wrong = client.post(
            base + "kernel/ask", json=question, headers={"X-TutorNB-Kernel-Token": "x" + token}
        )
        assert wrong.status_code == 403
        # And the right one can
        asked = client.post(base + "kernel/ask", json=question, headers={"X-TutorNB-Kernel-Token": token})
        assert asked.status_code == 200, asked.text
        assert asked.json()["message"]["role"] == "tutor"
