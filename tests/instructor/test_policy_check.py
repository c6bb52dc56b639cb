"""``tutornb course check --policy`` replays "just give me the answer" attempts against the real
course tutor and reports any reply that shows a withheld solution."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tutornb.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tutor_course"
NOTEBOOK = "text_and_arrays.ipynb"


def _course(tmp_path: Path, policy: dict[str, object], hints: list[str] | None = None) -> Path:
    folder = tmp_path / "course"
    shutil.copytree(FIXTURE, folder)
    path = folder / NOTEBOOK
    document = json.loads(path.read_text(encoding="utf-8"))
    meta = document["metadata"]["tutornb"]
    meta["policy"] = policy
    if hints is not None:
        meta["exercises"][0]["hints"] = hints
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return folder


def test_a_hints_only_exercise_keeps_its_solution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _course(tmp_path, {"solutions": "never"})
    code = main(["course", "check", "--policy", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "policy: replayed 4 attempts to get a withheld solution" in err
    assert "showed the solution" not in out


def test_a_hint_that_gives_the_solution_away_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a first hint that is the solution itself (an easy slip when writing hints)
    folder = _course(tmp_path, {"solutions": "never"}, hints=["squares = [x * x for x in range(4)]"])
    # When the policy is checked
    code = main(["course", "check", "--policy", str(folder)])
    out, _ = capsys.readouterr()
    # Then every attempt that got it is a problem line, named by exercise and attempt
    assert code == 1
    lines = [line for line in out.splitlines() if "showed the solution" in line]
    assert lines
    assert all("exercises.0.solution: the tutor showed the solution of 'squares'" in line for line in lines)
    assert any("(asking directly; policy never)" in line for line in lines)


def test_on_request_solutions_are_not_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _course(tmp_path, {"solutions": "on_request"})
    assert main(["course", "check", "--policy", str(folder)]) == 0
    assert "replayed 0 attempts" in capsys.readouterr().err


class _EchoModel:
    """A loopback OpenAI-protocol model that answers with everything it was told: whatever the
    tutor put in the prompt, the learner would see."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                told = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                chunks = [{"choices": [{"index": 0, "delta": {"content": told}, "finish_reason": "stop"}]}]
                data = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_model_tutor_shown_the_solution_in_a_cell_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a hints-only exercise whose worked solution was left in a code cell under its heading
    folder = _course(tmp_path, {"solutions": "never"})
    path = folder / NOTEBOOK
    document = json.loads(path.read_text(encoding="utf-8"))
    at = next(i for i, c in enumerate(document["cells"]) if "Exercise 1: squares" in "".join(c["source"]))
    document["cells"].insert(
        at + 1,
        {"cell_type": "code", "id": "left-over", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "squares = [x * x for x in range(4)]  # worked solution\n"},
    )  # fmt: skip
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    model = _EchoModel()
    try:
        # When the policy is replayed against the model tutor (which puts the exercise in its prompt)
        options = json.dumps({"base_url": model.url, "api_key": "sk-test", "model": "echo"})
        argv = ["course", "check", "--policy", "--tutor", "openai", "--tutor-options", options, str(folder)]
        code = main(argv)
    finally:
        model.close()
    out, err = capsys.readouterr()
    # Then the leak is reported
    assert code == 1, (out, err)
    assert "the tutor showed the solution of 'squares'" in out


def test_an_unknown_tutor_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _course(tmp_path, {"solutions": "never"})
    assert main(["course", "check", "--policy", "--tutor", "no-such-tutor", str(folder)]) != 0
    err = capsys.readouterr().err
    assert "--policy:" in err
    assert "Traceback" not in err
