"""One SIGKILL trial against a live server (shared by the crash test and ``bench/hostile.py``).

The client counts a message as acknowledged only when its ``ack`` frame arrived: that is the promise
("on disk before it is acknowledged") the trial checks after the kill.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import websocket

from tests.support.chat_client import learner_messages, open_socket
from tests.support.live_server import LiveServer
from tutornb.store import SessionStore

MAX_IN_FLIGHT = 64


@dataclass
class CrashTrial:
    number: int
    delay: float
    session_id: str = ""
    sent: int = 0
    acked: int = 0
    store_opened: bool = False
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    resend_unacked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.store_opened
            and not self.lost
            and not self.duplicated
            and not self.resend_unacked
            and not self.problems
        )


def _stream_until_killed(
    server: LiveServer, ws: websocket.WebSocket, number: int, delay: float
) -> tuple[list[str], dict[str, str]]:
    sent: list[str] = []
    acked: dict[str, str] = {}
    stop = threading.Event()
    slots = threading.Semaphore(MAX_IN_FLIGHT)

    def receive() -> None:
        while True:
            try:
                raw = ws.recv()
            except Exception:
                return
            if not raw:
                return
            frame = json.loads(raw)
            if frame.get("type") == "ack":
                acked[frame["client_id"]] = frame["message"]["id"]
                slots.release()
            elif frame.get("type") == "error" and frame.get("client_id"):
                slots.release()

    def send() -> None:
        index = 0
        while not stop.is_set():
            if not slots.acquire(timeout=0.05):
                continue
            client_id = f"crash-{number}-{index}"
            index += 1
            # Counted before the write: a frame cut by the kill may or may not have been stored.
            sent.append(client_id)
            try:
                text = f"What is a list? #{index}"
                ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
            except Exception:
                return

    threads = [threading.Thread(target=receive), threading.Thread(target=send)]
    for thread in threads:
        thread.start()
    time.sleep(delay)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(15)
    ws.close()
    return sent, dict(acked)


def _store_opens(store_dir: Path, session_id: str) -> tuple[bool, set[str]]:
    """Opens a copy of the killed server's store, as a fresh process would (the original is left
    for the restarted server to recover by itself)."""
    scratch = Path(tempfile.mkdtemp(prefix="tutornb-killed-store-"))
    try:
        copy = scratch / "store"
        shutil.copytree(store_dir, copy)
        store = SessionStore(copy, background_compaction=False)
        try:
            ids = {m.client_id for m in store.messages(session_id) if m.client_id}
        finally:
            store.close()
        return True, ids
    except Exception:
        return False, set()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _resend(server: LiveServer, session_id: str, client_ids: list[str]) -> list[str]:
    """Sends every client id again (the widget's outbox after a reconnect); returns those never
    acknowledged."""
    waiting = set(client_ids)
    ws = open_socket(server, session_id)
    try:
        for client_id in client_ids:
            ws.send(json.dumps({"type": "message", "client_id": client_id, "text": "resent"}))
        deadline = time.monotonic() + 30
        while waiting and time.monotonic() < deadline:
            frame = json.loads(ws.recv())
            if frame.get("type") == "ack":
                waiting.discard(frame["client_id"])
    finally:
        ws.close()
    return sorted(waiting)


def run_kill_trial(server: LiveServer, number: int, delay: float) -> CrashTrial:
    trial = CrashTrial(number=number, delay=delay)
    if not server.running:
        server.start()
    with server.client() as client:
        created = client.post("sessions", json={"title": f"crash trial {number}"})
    created.raise_for_status()
    trial.session_id = session_id = created.json()["id"]
    ws = open_socket(server, session_id)
    sent, acked = _stream_until_killed(server, ws, number, delay)
    trial.sent, trial.acked = len(sent), len(acked)

    trial.store_opened, copied_ids = _store_opens(server.store_dir, session_id)
    server.start()
    stored = learner_messages(server, session_id)
    counts = Counter(m["client_id"] for m in stored)
    by_client = {m["client_id"]: m["id"] for m in stored}
    trial.lost = sorted(cid for cid, mid in acked.items() if by_client.get(cid) != mid)
    trial.duplicated = sorted(cid for cid, n in counts.items() if n > 1)
    if trial.store_opened and copied_ids != set(counts):
        trial.problems.append("the store copy and the restarted server disagree")

    trial.resend_unacked = _resend(server, session_id, sent)
    counts = Counter(m["client_id"] for m in learner_messages(server, session_id))
    trial.duplicated += sorted(cid for cid, n in counts.items() if n > 1)
    trial.lost += sorted(cid for cid in sent if counts.get(cid) != 1)
    return trial
