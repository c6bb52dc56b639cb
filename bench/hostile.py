"""Long form of tutornb's hostile-input and server-crash checks, with figures.

Runs against real ``jupyter server`` subprocesses on 127.0.0.1 (temp HOME and JUPYTER_* dirs):

- XSS: every generated payload (all markdown contexts: 505 by default) sent as a learner message
  over the chat socket and echoed by a hostile tutor (installed through the ``tutornb.tutors``
  entry point), then rendered by the panel's real ``chat.js`` in chromium; plus the Python
  sanitizer on every payload.
- Malformed frames: ``--frames`` refused frames over one socket, invalid UTF-8 text frames and
  oversize frames; the server log must show no unhandled exception.
- Server kills: ``--crash-trials`` SIGKILLs of a server with a chat socket streaming messages;
  every acknowledged message must be there exactly once after the restart.

Usage: ``python -m bench.hostile [--frames 10000] [--crash-trials 30] [--no-browser]``
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import show
from tests.support.frame_storm import OVERSIZE, run_storm
from tests.support.hostile_chat import send_payloads
from tests.support.hostile_payloads import malformed_frames, xss_payloads
from tests.support.live_server import HERE, LiveServer, install_test_tutor
from tests.support.security_helpers import html_problems
from tests.support.server_kill import run_kill_trial
from tests.support.xss_browser import chromium_path, run_in_browser
from tutornb.render import render_markdown, sanitize_html


def hostile_server(base: Path) -> LiveServer:
    site = base / "site-packages"
    install_test_tutor(site, "hostile-echo", HERE / "hostile_tutor.py", "create_echo_tutor")
    return LiveServer(base / "server", tutornb={"tutor": "hostile-echo"}, python_path=[site])


def xss(base: Path, contexts: int, browser: bool) -> dict[str, object]:
    payloads = xss_payloads(contexts=contexts)
    python_unsafe = sum(
        1
        for p in payloads
        for html in (render_markdown(p.text), sanitize_html(p.text))
        if html_problems(html)
    )
    server = hostile_server(base)
    server.start()
    try:
        started = time.perf_counter()
        sessions = send_payloads(server, payloads)
        stored_unsafe = sum(1 for s in sessions for m in s.messages if html_problems(m.get("html") or ""))
        with server.client() as client:
            listing = client.get("sessions", params={"course_id": "xss", "limit": 200}).json()
        figures: dict[str, object] = {
            "payloads": len(payloads),
            "messages stored (learner + tutor echo)": sum(len(s.messages) for s in sessions),
            "python sanitizer: unsafe outputs": python_unsafe,
            "server-stored html: unsafe": stored_unsafe,
            "send time (s)": round(time.perf_counter() - started, 1),
        }
        chromium = chromium_path()
        if browser and chromium:
            report = run_in_browser(chromium, sessions, listing, payloads)
            figures["browser: executed"] = len(report.executed)
            figures["browser: dangerous DOM leftovers"] = sum(len(v) for v in report.problems.values())
            figures["browser: messages rendered by the panel"] = report.counts["messages"]
            figures["control: executed when unsanitized"] = len(report.control_executed)
        else:
            figures["browser"] = "skipped (no chromium)" if browser else "skipped"
        figures["server log: unhandled"] = len(server.unhandled())
        return figures
    finally:
        server.stop()


def frames(base: Path, count: int) -> dict[str, object]:
    server = hostile_server(base)
    server.start()
    try:
        with server.client() as client:
            session_id = client.post("sessions", json={"title": "storm"}).json()["id"]
        started = time.perf_counter()
        report = run_storm(server, session_id, malformed_frames(count))
        elapsed = time.perf_counter() - started
        with server.client() as client:
            alive = client.get("status").status_code == 200
        return {
            "malformed frames": report.sent,
            "answered by an error frame": report.answered,
            "other frames (should be 0)": len(report.other_frames),
            "error codes": dict(report.answers),
            "invalid UTF-8 text frames / connections failed": (
                f"{report.invalid_utf8_sent} / {report.invalid_utf8_closed}"
            ),
            "oversize frames / closed with 1009": (
                f"{len(OVERSIZE)} / {report.oversize_close_codes.count(1009)}"
            ),
            "server still answering": alive,
            "server log: unhandled": len(server.unhandled()),
            "frames per second": round(report.sent / elapsed),
        }
    finally:
        server.stop()


def kills(base: Path, trials: int, seed: int) -> dict[str, object]:
    server = LiveServer(base / "crash", tutornb={"rate_limit_per_minute": 0})
    rng = random.Random(seed)
    results = []
    try:
        for number in range(trials):
            results.append(run_kill_trial(server, number, delay=rng.uniform(0.05, 1.5)))
            print(f"  kill trial {number + 1}/{trials}: {results[-1].ok}", file=sys.stderr)
    finally:
        server.stop()
    return {
        "server kill trials": trials,
        "acknowledged messages": sum(t.acked for t in results),
        "sent (incl. unacknowledged)": sum(t.sent for t in results),
        "store failed to open": sum(1 for t in results if not t.store_opened),
        "lost acks": sum(len(t.lost) for t in results),
        "stored twice": sum(len(t.duplicated) for t in results),
        "resends not acknowledged": sum(len(t.resend_unacked) for t in results),
        "server log: unhandled": len(server.unhandled()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=4, help="markdown contexts per payload")
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--crash-trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-hostile-"))
    try:
        show("XSS payloads", xss(base / "xss", args.contexts, not args.no_browser))
        show("Malformed socket frames", frames(base / "frames", args.frames))
        show("Server SIGKILL trials", kills(base, args.crash_trials, args.seed))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
