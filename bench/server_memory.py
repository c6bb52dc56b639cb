"""What the extension costs a learner's server: RSS with tutornb minus without, and the first reply.

Run from the repository root: ``python -m bench.server_memory [--runs N] [--code DIR]``. Each run
starts two ``jupyter server`` processes side by side (the test harness's launcher: own HOME, token,
Jupyter folders, only the tutornb extension configurable), one with tutornb on and one with it off,
and reads their resident set size (``VmRSS`` in ``/proc``) once ``/api/status`` answers. Then, on the
server with tutornb, a cold first chat: create a session over REST (the first tutornb request: the
service opens then), open its WebSocket, send one learner message and wait for the offline course
tutor's reply. The "first reply after a cold start" runs from that first request to the tutor's
message (the send-to-reply part is shown too); RSS is read again after it.

``--code DIR`` puts another checkout of ``tutornb`` first on the servers' ``PYTHONPATH`` (for a
before/after comparison in the same run on the same machine).

Targets (issue 18): with minus without ≤ 8 MiB after start, ≤ 25 MiB after the first chat, first
reply after a cold start ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websocket

from tests.support.live_server import OTHER_EXTENSIONS, LiveServer

MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _server(base: Path, *, tutornb: bool, code: Path | None) -> LiveServer:
    extensions = {"tutornb": tutornb, **dict.fromkeys(OTHER_EXTENSIONS, False)}
    return LiveServer(
        base,
        tutornb={"tutor": "course"},
        server={"jpserver_extensions": extensions},
        python_path=[code] if code else [],
    )


def _settle(pid: int) -> int:
    """RSS once it stops moving (the server's first event-loop ticks still allocate)."""
    last = rss_bytes(pid)
    for _ in range(20):
        time.sleep(0.1)
        now = rss_bytes(pid)
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


def first_chat(server: LiveServer) -> tuple[float, float]:
    """Seconds from the first tutornb request (creating a session: the service opens then) to the
    tutor's reply frame, and from sending the learner message to that frame."""
    started = time.perf_counter()
    with server.client() as client:
        created = client.post("sessions", json={"title": "bench"})
        created.raise_for_status()
        session_id = created.json()["id"]
    ws = websocket.create_connection(
        server.ws_url(session_id), header=[f"Authorization: token {server.token}"], timeout=60
    )
    try:
        ws.recv()  # the session frame
        sent = time.perf_counter()
        ws.send(json.dumps({"type": "message", "client_id": "bench-1", "text": "What is a list?"}))
        while True:
            frame = json.loads(ws.recv())
            if frame["type"] == "message" and frame["message"]["role"] == "tutor":
                now = time.perf_counter()
                return now - started, now - sent
            if frame["type"] == "error":
                raise RuntimeError(f"the first chat failed: {frame}")
    finally:
        ws.close()


def one_run(base: Path, code: Path | None) -> dict[str, float]:
    without = _server(base / "without", tutornb=False, code=code)
    with_ext = _server(base / "with", tutornb=True, code=code)
    try:
        without.start()
        with_ext.start()
        assert without.process is not None
        assert with_ext.process is not None
        base_rss = _settle(without.process.pid)
        start_rss = _settle(with_ext.process.pid)
        cold, reply = first_chat(with_ext)
        chat_rss = _settle(with_ext.process.pid)
    finally:
        with_ext.stop()
        without.stop()
    return {
        "without": base_rss / MIB,
        "with": start_rss / MIB,
        "start_delta": (start_rss - base_rss) / MIB,
        "chat_delta": (chat_rss - base_rss) / MIB,
        "cold_reply_ms": cold * 1000,
        "reply_ms": reply * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=None, help="another tutornb checkout to measure")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-memory-"))
    runs: list[dict[str, float]] = []
    try:
        for number in range(args.runs):
            figures = one_run(base / str(number), args.code)
            runs.append(figures)
            print(f"run {number + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    code = args.code or "this checkout"
    print(f"\n### Server memory and first reply ({args.runs} runs, code: {code})\n")
    print(f"load average: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| measure | median | max | target |")
    print("|---|---|---|---|")
    rows = [
        ("RSS without tutornb (MiB)", "without", ""),
        ("RSS with tutornb after start (MiB)", "with", ""),
        ("with - without after start (MiB)", "start_delta", "<= 8"),
        ("with - without after the first chat (MiB)", "chat_delta", "<= 25"),
        ("first reply after cold start: first request -> reply (ms)", "cold_reply_ms", "<= 1000"),
        ("first reply: message sent -> reply (ms)", "reply_ms", ""),
    ]
    for label, key, target in rows:
        values = [run[key] for run in runs]
        print(f"| {label} | {statistics.median(values):.1f} | {max(values):.1f} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
