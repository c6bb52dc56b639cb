"""A real OpenAI-compatible Chat Completions server on 127.0.0.1 (``http.server`` in a thread),
whose streams misbehave on request: the learner's last message picks the script.

- ``cut`` in the message: two deltas, then the connection closes (no finish reason, no ``[DONE]``);
- ``slow`` in the message: a delta every 0.2 s for a minute, then ``[DONE]``;
- anything else: a short complete answer.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PARTIAL = ["A list comprehension ", "builds a list "]


def _chunk(text: str, finish: str | None = None) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    return f"data: {json.dumps({'choices': [choice]})}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        last = str(body.get("messages", [{}])[-1].get("content", ""))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if "cut" in last:
                for text in PARTIAL:
                    self.wfile.write(_chunk(text))
                    self.wfile.flush()
                self.close_connection = True
                return
            if "slow" in last:
                for n in range(300):
                    self.wfile.write(_chunk(f"word{n} "))
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                self.wfile.write(_chunk("Complete answer."))
            self.wfile.write(_chunk("", "stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a stopped turn)


class ModelServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
