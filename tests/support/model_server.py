"""A real OpenAI-compatible Chat Completions server on 127.0.0.1 (``http.server`` in a thread).

Two ways to answer, one server:

- by the learner's last message (the default): ``cut`` in it sends two deltas, then closes the
  connection (no finish reason, no ``[DONE]``); ``slow`` sends a delta every 0.2 s for a minute, then
  ``[DONE]``; anything else gets a short complete answer;
- from a queue of scripts (``scripted=True``): each request takes the next :data:`Script` put on
  :attr:`ModelServer.scripts` (:func:`stream`, :func:`failure`), waiting up to 10 s for one, and
  answers 503 when none comes.

Every request is recorded in :attr:`ModelServer.seen` (its path, ``Authorization`` header and body),
so a test can say which key a call carried and what its prompt held; the default answer ends with a
``usage`` chunk, as OpenAI's streams do when asked for one.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PARTIAL = ["A list comprehension ", "builds a list "]
#: The default answer to any other message.
ANSWER = "Complete answer."


@dataclass(frozen=True)
class Seen:
    """One request as it reached the model."""

    path: str
    authorization: str
    body: dict[str, Any]


#: One answer to one request, written on the handler.
Script = Callable[[BaseHTTPRequestHandler], None]


def _chunk(text: str, finish: str | None = None) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


def _start_stream(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True


def stream(texts: list[str], pause: float = 0.0) -> Script:
    """A complete streamed answer: ``texts`` as deltas, ``pause`` seconds apart, then ``[DONE]``."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        _start_stream(handler)
        try:
            for text in texts:
                handler.wfile.write(_chunk(text))
                handler.wfile.flush()
                time.sleep(pause)
            handler.wfile.write(b"data: [DONE]\n\n")
        except OSError:
            pass  # the tutor hung up (Stop)

    return respond


def failure(code: int) -> Script:
    """An HTTP error ``code`` with an OpenAI-style error body."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        payload = json.dumps({"error": {"message": "overloaded"}}).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    return respond


def by_message(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    """The default answer, picked by the learner's last message (see the module docstring)."""
    last = str(body.get("messages", [{}])[-1].get("content", ""))
    _start_stream(handler)
    try:
        if "cut" in last:
            for text in PARTIAL:
                handler.wfile.write(_chunk(text))
                handler.wfile.flush()
            return
        if "slow" in last:
            for n in range(300):
                handler.wfile.write(_chunk(f"word{n} "))
                handler.wfile.flush()
                time.sleep(0.2)
        else:
            handler.wfile.write(_chunk(ANSWER))
        handler.wfile.write(_chunk("", "stop"))
        usage = {"prompt_tokens": 90, "completion_tokens": 10, "total_tokens": 100}
        handler.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client went away (a stopped turn)


class ModelServer:
    """Listens from construction on; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, *, scripted: bool = False) -> None:
        self.scripts: queue.Queue[Script] = queue.Queue()
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                with owner._lock:
                    owner._seen.append(Seen(self.path, self.headers.get("Authorization", ""), body))
                if not scripted:
                    by_message(self, body)
                    return
                try:
                    script = owner.scripts.get(timeout=10)
                except queue.Empty:
                    script = failure(503)
                script(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
