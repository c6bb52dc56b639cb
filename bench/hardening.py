"""Figures for issue #11's availability findings, against real ``jupyter server`` subprocesses.

- Slow sockets: ``--sockets`` (300) chat sockets on one session that never read (4 KiB receive
  buffers), plus one well-behaved client sending a message every half second (inside the rate
  limit) for ``--seconds`` (60). Server RSS: before, peak, and 10 s after the slow sockets close.
  Run with the socket caps lifted (``max_sockets_per_session = max_sockets_per_owner = 0``), so
  the pending-bytes limit alone has to hold memory; the default caps would refuse most of them.
- Search: ``/status`` latency while 4 clients search a ``--store-mb`` (200) MB store again and again
  (the first pass cold), against ``/status`` alone on the same server.
- Uploads: RSS while 4 unauthenticated clients each stream a body announced as 400 MiB, for
  ``--upload-seconds`` (15) or until the server closes the connection.

- Lockout (issue #20): ``--sockets`` idle sockets (they read their first frame, then nothing, so
  never answer a ping) on one session under the default caps; then the learner's own tab connects,
  retrying once a second while refused: seconds until it is in.
- Class report (issue #20): ``tutornb class-report`` on 1,000 simulated reports (time and peak
  RSS), and on 20 hostile files just under 5 MiB (300k mastery keys each): time, peak RSS, page size.

Targets (issue #11): RSS +100 MiB at most under the slow sockets and back to the baseline after;
``/status`` p50 at most 20 ms during the searches; RSS +50 MiB at most during the uploads.
(issue #20): the learner's tab in within 10 s; 1,000 reports in at most 5 s.

Usage: ``python -m bench.hardening [--only sockets,search,uploads,lockout,classreport]
[--code DIR]``. ``--code`` puts
DIR first on the servers' ``PYTHONPATH``: ``--code /work/main`` measures another checkout (the
"before" figures).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import websocket

from bench.figures import show
from tests.support.big_store import NEEDLE, build_big_store
from tests.support.live_server import LiveServer
from tutornb.paths import default_owner

MIB = 1024 * 1024


def rss_mib(server: LiveServer) -> float:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler:
    """Samples the server's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, server: LiveServer, interval: float = 0.5) -> None:
        self.server = server
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.server))
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def server_for(base: Path, code: Path | None, **tutornb: Any) -> LiveServer:
    return LiveServer(base, tutornb=tutornb, python_path=[code] if code else [])


def new_session(server: LiveServer) -> str:
    with server.client() as client:
        return str(client.post("sessions", json={"title": "bench"}).json()["id"])


# --------------------------------------------------------------------------------------------------


def slow_sockets(base: Path, code: Path | None, count: int, seconds: float) -> dict[str, object]:
    server = server_for(base, code, max_sockets_per_session=0, max_sockets_per_owner=0)
    server.start()
    try:
        sid = new_session(server)
        time.sleep(2.0)
        before = rss_mib(server)
        slow: list[websocket.WebSocket] = []
        refused = 0
        for _ in range(count):
            try:
                slow.append(
                    websocket.create_connection(
                        server.ws_url(sid),
                        header=[f"Authorization: token {server.token}"],
                        sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
                        timeout=30,
                    )
                )
            except (OSError, websocket.WebSocketException):
                refused += 1
        sender = websocket.create_connection(
            server.ws_url(sid), header=[f"Authorization: token {server.token}"], timeout=30
        )
        stop = threading.Event()
        threading.Thread(target=_drain, args=(sender, stop), daemon=True).start()
        text = "Why does my loop skip items when I remove from the list? " * 260  # ~15,000 characters
        sent = 0
        with RssSampler(server) as sampler:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                sender.send(json.dumps({"type": "message", "client_id": f"b{sent}", "text": text}))
                sent += 1
                time.sleep(0.5)
            during = rss_mib(server)
            stop.set()
            for ws in slow:
                ws.close()
            sender.close()
            time.sleep(10.0)
        after = rss_mib(server)
        closed_by_server = server.log_text().count("closed a chat socket that stopped reading")
    finally:
        server.stop()
    return {
        "slow sockets opened (refused)": f"{len(slow)} ({refused})",
        "messages sent by the well-behaved client": sent,
        "slow sockets closed by the server (1008)": closed_by_server,
        "RSS before (MiB)": f"{before:.0f}",
        "RSS peak with the slow sockets (MiB)": f"{sampler.peak:.0f} (+{sampler.peak - before:.0f})",
        "RSS at the end of the run (MiB)": f"{during:.0f}",
        "RSS 10 s after they closed (MiB)": f"{after:.0f} (+{after - before:.0f})",
        "target": "peak ≤ +100 MiB, back to the baseline after",
    }


def _drain(ws: websocket.WebSocket, stop: threading.Event) -> None:
    ws.settimeout(1.0)
    while not stop.is_set():
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except (OSError, websocket.WebSocketException):
            return


# --------------------------------------------------------------------------------------------------


def search_latency(base: Path, code: Path | None, store_mb: int, seconds: float) -> dict[str, object]:
    server = server_for(base, code, quota_bytes=4 * 1024 * MIB)
    started = time.perf_counter()
    sessions = build_big_store(server.store_dir, default_owner(), megabytes=store_mb)
    built = time.perf_counter() - started
    server.start()
    try:
        with server.client() as client:
            store_bytes = client.get("status").json()["store"]["bytes"]
            alone = _status_times(client, 100)
            stop = threading.Event()
            searches: list[float] = []
            needles = [NEEDLE, "append", "never-there-xyz", "tuple dict"]
            threads = [
                threading.Thread(target=_search_loop, args=(server, needle, stop, searches), daemon=True)
                for needle in needles
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.2)
            loaded: list[float] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                loaded.extend(_status_times(client, 1))
                time.sleep(0.05)
            stop.set()
            for thread in threads:
                thread.join(300)
    finally:
        server.stop()
    return {
        "store": f"{store_bytes / MIB:.0f} MB, {sessions} sessions (built in {built:.0f} s)",
        "/status p50 alone (ms)": f"{statistics.median(alone) * 1000:.1f}",
        "/status p50 / p95 during 4 searching clients (ms)": (
            f"{statistics.median(loaded) * 1000:.1f} / {_pct(loaded, 95) * 1000:.1f} ({len(loaded)} requests)"
        ),
        "searches completed (first, median s)": (
            f"{len(searches)} ({searches[0] if searches else float('nan'):.2f}, "
            f"{statistics.median(searches) if searches else float('nan'):.2f})"
        ),
        "target": "/status p50 ≤ 20 ms",
    }


def _status_times(client: httpx.Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        client.get("status").raise_for_status()
        times.append(time.perf_counter() - start)
    return times


def _search_loop(server: LiveServer, needle: str, stop: threading.Event, out: list[float]) -> None:
    with server.client(timeout=600) as client:
        while not stop.is_set():
            start = time.perf_counter()
            client.get("sessions", params={"q": needle, "limit": 30}).raise_for_status()
            out.append(time.perf_counter() - start)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


# --------------------------------------------------------------------------------------------------


def uploads(base: Path, code: Path | None, seconds: float) -> dict[str, object]:
    server = server_for(base, code)
    server.start()
    try:
        time.sleep(2.0)
        before = rss_mib(server)
        sent = [0, 0, 0, 0]
        answers: list[str] = ["", "", "", ""]
        with RssSampler(server, 0.25) as sampler:
            threads = [
                threading.Thread(target=_upload, args=(server, i, seconds, sent, answers)) for i in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(seconds + 60)
        after = rss_mib(server)
    finally:
        server.stop()
    return {
        "RSS before (MiB)": f"{before:.0f}",
        "RSS peak during 4 unauthenticated 400 MiB uploads (MiB)": (
            f"{sampler.peak:.0f} (+{sampler.peak - before:.0f})"
        ),
        "RSS after (MiB)": f"{after:.0f}",
        "bytes the clients got to send (MiB, each)": ", ".join(f"{n / MIB:.0f}" for n in sent),
        "server's answers": ", ".join(sorted(set(answers))),
        "target": "peak ≤ +50 MiB",
    }


def _upload(server: LiveServer, index: int, seconds: float, sent: list[int], answers: list[str]) -> None:
    head = (
        f"POST /tutornb/api/sessions/import HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {400 * MIB}\r\n\r\n"
    ).encode()
    piece = b" " * (256 * 1024)
    deadline = time.monotonic() + seconds
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        try:
            while time.monotonic() < deadline and sent[index] < 400 * MIB - len(piece):
                sock.sendall(piece)
                sent[index] += len(piece)
        except OSError:
            pass
        try:
            answer = sock.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError:
            answer = ""
        answers[index] = answer or "(connection closed, no answer)"


# --------------------------------------------------------------------------------------------------


def lockout(base: Path, code: Path | None, count: int) -> dict[str, object]:
    server = server_for(base, code)
    server.start()
    try:
        sid = new_session(server)
        idle = []
        for _ in range(count):
            idle.append(
                websocket.create_connection(
                    server.ws_url(sid),
                    header=[f"Authorization: token {server.token}"],
                    sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
                    timeout=60,
                )
            )
        admitted = sum(1 for ws in idle if json.loads(ws.recv()).get("type") == "session")
        started = time.monotonic()
        attempts = 0
        waited = "locked out for 180 s (gave up)"
        while time.monotonic() - started < 180:
            attempts += 1
            tab = websocket.create_connection(
                server.ws_url(sid), header=[f"Authorization: token {server.token}"], timeout=60
            )
            first = json.loads(tab.recv())
            tab.close()
            if first.get("type") == "session":
                waited = f"{time.monotonic() - started:.1f}"
                break
            time.sleep(1.0)
        for ws in idle:
            ws.close()
        evicted = server.log_text().count("evicting a chat socket")
    finally:
        server.stop()
    return {
        "idle sockets (let in at first)": f"{count} ({admitted})",
        "seconds until the learner's tab is in": waited,
        "attempts by the tab": attempts,
        "idle sockets evicted": evicted,
        "target": "in within 10 s",
    }


_MEASURED_CLI = """
import resource, sys, time
from tutornb.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"__figures__ {time.perf_counter() - started:.2f} {peak:.0f} {code}")
"""


def _class_report_run(code: Path | None, folder: Path, out: Path) -> tuple[float, float, int]:
    import os
    import subprocess

    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = f"{code}{os.pathsep}{env.get('PYTHONPATH', '')}"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_CLI, "class-report", str(folder), "-o", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("__figures__"))
    _, seconds, rss, exit_code = line.split()
    return float(seconds), float(rss), int(exit_code)


def class_report_caps(base: Path, code: Path | None) -> dict[str, object]:
    from class_report import write_class

    figures: dict[str, object] = {}
    reports = base / "class"
    write_class(reports, 1000)
    seconds, rss, _ = _class_report_run(code, reports, base / "out")
    figures["1,000 reports: seconds, peak RSS (MiB)"] = f"{seconds:.2f}, {rss:.0f}"
    hostile = base / "hostile"
    shutil.copytree(reports, hostile)  # the class, and 20 hostile files among it
    template = json.loads(next(reports.iterdir()).read_text())
    for index in range(20):
        module = {**template["modules"][0], "mastery": {f"k{i:06d}": 0.5 for i in range(300_000)}}
        document = {**template, "learner": f"h{index}", "modules": [module]}
        (hostile / f"{template['course_id']}--h{index}.json").write_text(json.dumps(document))
    size = sum(p.stat().st_size for p in hostile.glob("*--h*.json")) / MIB
    seconds, rss, exit_code = _class_report_run(code, hostile, base / "hostile-out")
    page = base / "hostile-out" / "index.html"
    figures[f"1,000 reports + 20 hostile files ({size:.0f} MiB): seconds, peak RSS (MiB), exit"] = (
        f"{seconds:.2f}, {rss:.0f}, {exit_code}"
    )
    figures["hostile run: page written (MiB)"] = (
        f"{page.stat().st_size / MIB:.1f}" if page.exists() else "none"
    )
    figures["target"] = "1,000 reports in at most 5 s; hostile files cannot exhaust memory or the page"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="sockets,search,uploads,lockout,classreport")
    parser.add_argument("--code", type=Path, help="checkout whose tutornb the servers run")
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store-mb", type=int, default=200)
    parser.add_argument("--search-seconds", type=float, default=20.0)
    parser.add_argument("--upload-seconds", type=float, default=15.0)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    code = args.code.resolve() if args.code else None
    label = f" ({code})" if code else ""
    with tempfile.TemporaryDirectory(prefix="tutornb-hardening-") as tmp:
        base = Path(tmp)
        if "uploads" in parts:
            show(f"Unauthenticated uploads{label}", uploads(base / "uploads", code, args.upload_seconds))
        if "sockets" in parts:
            show(
                f"Sockets that never read{label}",
                slow_sockets(base / "sockets", code, args.sockets, args.seconds),
            )
        if "lockout" in parts:
            show(f"A learner's tab past idle sockets{label}", lockout(base / "lockout", code, args.sockets))
        if "classreport" in parts:
            show(f"class-report caps{label}", class_report_caps(base / "classreport", code))
        if "search" in parts:
            show(
                f"/status during searches{label}",
                search_latency(base / "search", code, args.store_mb, args.search_seconds),
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
