"""Renders hostile messages in a real browser (playwright driving Debian's chromium) through the
panel's real ``static/chat.js`` and reports what executed and what survived in the DOM.

A loopback HTTP server serves ``xss_harness.html`` and the widget's static files; anything else is
a 404 (so ``<img src=x onerror=…>`` fails fast and would fire its handler if it survived). Shared by
``test_xss_browser.py`` and ``bench/hostile.py``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.browser import CHROMIUM_ARGS
from tests.support.hostile_chat import XssSession
from tests.support.hostile_payloads import Payload

HERE = Path(__file__).resolve().parent
STATIC = HERE.parents[1] / "tutornb" / "widget" / "static"


class _Handler(BaseHTTPRequestHandler):
    routes = {
        "/": (HERE / "xss_harness.html", "text/html; charset=utf-8"),
        "/chat.js": (STATIC / "chat.js", "text/javascript; charset=utf-8"),
        "/chat.css": (STATIC / "chat.css", "text/css; charset=utf-8"),
    }

    def do_GET(self) -> None:
        # A page that went on (a frame torn down, an image abandoned) needs no answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer()

    def _answer(self) -> None:
        found = self.routes.get(self.path.split("?", 1)[0])
        if found is None:
            self.send_error(404)
            return
        path, media_type = found
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: 404s for payload images are expected."""


@contextmanager
def harness_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class BrowserReport:
    payloads: int
    executed: list[int]
    problems: dict[str, list[str]]
    counts: dict[str, int]
    control_executed: list[int] = field(default_factory=list)
    location: str = ""
    self_test: list[str] = field(default_factory=list)


def run_in_browser(
    chromium: str,
    sessions: list[XssSession],
    page_listing: dict[str, Any],
    payloads: list[Payload],
    *,
    settle_ms: int = 1500,
    control: bool = True,
) -> BrowserReport:
    """Mounts one panel per session plus a resume offer and history, both fences on their own,
    and (``control``) every raw payload as a document of its own, in a real chromium."""
    from playwright.sync_api import sync_playwright

    data = {
        "sessions": [{"detail": s.detail, "raw": [p.text for p in s.payloads]} for s in sessions],
        "page": page_listing,
        "serverHtml": [m["html"] for s in sessions for m in s.messages if m.get("html")],
        "rawPayloads": [p.text for p in payloads],
        "settleMs": settle_ms,
    }
    with harness_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(60_000)
            # Dialogs (alert/confirm/print) would block the page: count them as executions.
            dialogs: list[str] = []
            context.on("page", lambda page: page.on("dialog", lambda d: _dismiss(d, dialogs)))
            page = context.new_page()
            page.on("dialog", lambda d: _dismiss(d, dialogs))
            page.goto(url)
            page.wait_for_function("window.__ready === true")
            result = page.evaluate("(data) => window.__runAll(data)", data)
            report = BrowserReport(
                payloads=len(payloads),
                executed=list(result["executed"]) + [-1] * len(dialogs),
                problems=dict(result["problems"]),
                counts=dict(result["counts"]),
                location=str(result["location"]),
                self_test=list(result["selfTest"]),
            )
            if control:
                control_page = context.new_page()
                control_page.on("dialog", lambda d: d.dismiss())
                control_page.goto(url)
                control_page.wait_for_function("window.__ready === true")
                texts = [p.text for p in payloads]
                report.control_executed = list(
                    control_page.evaluate("([texts, ms]) => window.__control(texts, ms)", [texts, settle_ms])
                )
            return report
        finally:
            browser.close()


def _dismiss(dialog: Any, seen: list[str]) -> None:
    seen.append(dialog.type)
    dialog.dismiss()
