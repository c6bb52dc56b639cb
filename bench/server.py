"""Server benchmark: a real ``jupyter server`` subprocess on 127.0.0.1, measured from outside.

Run: ``python -m bench.server`` (options: ``--restores``, ``--sessions``, ``--sockets``,
``--messages``). It prints, next to the targets of issue 3:

- restore (``GET /sessions/{id}``) of a 1,000-message session, p50 / p99;
- ack latency (send → ``ack``) on a quiet server, p50 / p99;
- time to the first tutor ``delta`` with the offline course tutor, p50 / p99;
- 100 sockets (one session each) sending 20 messages at once: acks lost, ack p99, and the store
  checked over REST afterwards.

Everything lives in a temporary folder (root, store, HOME, Jupyter dirs) that is removed at the end.
Latencies include the client's own event loop, so they are upper bounds of the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.support.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]

MODULE = "01_lists_and_loops.ipynb"
QUESTIONS = [
    "How do I loop over a list?",
    "What does append do?",
    "How do I get the index while looping?",
    "What is a list comprehension?",
    "How do I sort a list?",
    "What is slicing?",
    "Can a list hold different types?",
    "How do I remove an item?",
    "What does range do?",
    "How do I insert at the front?",
]
#: Frames the many-sockets client does not need to parse (the server writes "type" first).
SKIPPED = ('{"type": "delta"', '{"type": "state"')
TARGETS = {"restore": 15.0, "ack": 20.0, "first_delta": 50.0, "many_ack": 100.0}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(server: LiveServer) -> float:
    """The server process's CPU time so far (user + system), from /proc: a figure that, unlike
    latencies, does not depend on what else the machine is doing."""
    assert server.process is not None
    try:
        stat = Path(f"/proc/{server.process.pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def prepare_course(server: LiveServer) -> dict[str, Any]:
    """The sample course copied under the server's root; the course context of ``MODULE``."""
    course = server.root / "course"
    shutil.copytree(REPO / "notebooks", course, ignore=shutil.ignore_patterns(".*"))
    meta = json.loads((course / MODULE).read_text())["metadata"]["tutornb"]
    context = {k: meta[k] for k in ("course_id", "course_title", "module_id", "module_title")}
    context["notebook_path"] = f"course/{MODULE}"
    return context


def fsync_baseline(folder: Path, rounds: int = 200) -> list[float]:
    """The disk's own cost for one small durable append: every ack pays at least this."""
    path = folder / "fsync-probe"
    timings = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            os.write(fd, b"x" * 200 + b"\n")
            os.fsync(fd)
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return timings


def seed_long_session(server: LiveServer, context: dict[str, Any], count: int, appends: list[float]) -> str:
    """A 1,000-message session written straight into the store before the server starts."""
    from tutornb.models import CourseContext, Role
    from tutornb.paths import default_owner
    from tutornb.render import render_markdown
    from tutornb.store import NewMessage
    from tutornb.store.sessions import SessionStore

    store = SessionStore(server.store_dir)
    try:
        session = store.create_session(default_owner(), CourseContext(**context), "Long session")
        for i in range(count):
            role = Role.LEARNER if i % 2 == 0 else Role.TUTOR
            text = (
                QUESTIONS[i % len(QUESTIONS)]
                if role is Role.LEARNER
                else (
                    f"Answer {i}: a `for` loop visits each item of the list in order.\n\n"
                    "```python\nfor item in items:\n    print(item)\n```"
                )
            )
            start = time.perf_counter()
            store.append_message(
                session.id,
                NewMessage(
                    role=role,
                    text=text,
                    html=render_markdown(text),
                    client_id=f"seed-{i}" if role is Role.LEARNER else None,
                ),
            )
            appends.append((time.perf_counter() - start) * 1000)
        return session.id
    finally:
        store.close()


async def measure_restore(server: LiveServer, session_id: str, rounds: int) -> list[float]:
    client = AsyncHTTPClient()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = await client.fetch(f"{server.api_url}sessions/{session_id}", headers=server.auth)
        timings.append((time.perf_counter() - start) * 1000)
        assert len(json.loads(response.body)["messages"]) >= 1000
    return timings


async def open_socket(server: LiveServer, session_id: str) -> WebSocketClientConnection:
    request = HTTPRequest(server.ws_url(session_id), headers=server.auth)
    ws = await websocket_connect(request, max_message_size=64 * 1024 * 1024)
    first = json.loads(await ws.read_message() or "{}")
    assert first.get("type") == "session", first
    return ws


async def create_session(server: LiveServer, context: dict[str, Any]) -> str:
    client = AsyncHTTPClient()
    response = await client.fetch(
        f"{server.api_url}sessions",
        method="POST",
        headers=server.auth,
        body=json.dumps({"context": context}),
    )
    return str(json.loads(response.body)["id"])


async def measure_chat(
    server: LiveServer, context: dict[str, Any], sessions: int, per_session: int
) -> tuple[list[float], list[float], list[float]]:
    """Quiet-server chat: send, wait for the whole reply, send the next one."""
    acks: list[float] = []
    first_deltas: list[float] = []
    replies: list[float] = []
    for _ in range(sessions):
        session_id = await create_session(server, context)
        ws = await open_socket(server, session_id)
        for i in range(per_session):
            client_id = uuid.uuid4().hex
            start = time.perf_counter()
            await ws.write_message(
                json.dumps({"type": "message", "client_id": client_id, "text": QUESTIONS[i]})
            )
            got_delta = False
            while True:
                raw = await ws.read_message()
                if raw is None:
                    raise RuntimeError("socket closed")
                frame = json.loads(raw)
                elapsed = (time.perf_counter() - start) * 1000
                if frame["type"] == "ack":
                    acks.append(elapsed)
                elif frame["type"] == "delta" and not got_delta:
                    got_delta = True
                    first_deltas.append(elapsed)
                elif frame["type"] == "message" and frame["message"]["role"] == "tutor":
                    replies.append(elapsed)
                    break
                elif frame["type"] == "error":
                    raise RuntimeError(f"error frame: {frame['code']}")
        ws.close()
    return acks, first_deltas, replies


async def measure_many(
    server: LiveServer, context: dict[str, Any], sockets: int, per_socket: int, burst: bool
) -> dict[str, Any]:
    """``sockets`` sessions with one socket each, all sending at the same time.

    Default: each socket sends its next message as soon as the previous one is acknowledged (the
    panel's outbox), while the tutor's replies stream in. ``burst``: every socket writes all its
    messages at once without waiting (a stress figure; acks then queue behind each other's fsync).
    """
    ids = [await create_session(server, context) for _ in range(sockets)]
    conns = await asyncio.gather(*(open_socket(server, sid) for sid in ids))
    acks: list[float] = []
    refused: dict[str, int] = {}

    def send(ws: WebSocketClientConnection, i: int, sent: dict[str, float]) -> None:
        client_id = uuid.uuid4().hex
        sent[client_id] = time.perf_counter()
        text = QUESTIONS[i % len(QUESTIONS)]
        ws.write_message(json.dumps({"type": "message", "client_id": client_id, "text": text}))

    async def run(ws: WebSocketClientConnection) -> int:
        sent: dict[str, float] = {}
        next_index = per_socket if burst else 1
        for i in range(next_index):
            send(ws, i, sent)
        acked = answered = 0
        acked_ids: set[str] = set()
        while answered < per_socket:
            raw = await asyncio.wait_for(ws.read_message(), 300)
            if raw is None:
                break
            if isinstance(raw, str) and (
                raw.startswith(SKIPPED)
                or (raw.startswith('{"type": "message"') and '"role": "learner"' in raw[:160])
            ):
                continue  # deltas, states, learner echoes: not parsed, to keep the client light
            frame = json.loads(raw)
            if frame["type"] == "ack" and frame["client_id"] in sent:
                acks.append((time.perf_counter() - sent.pop(frame["client_id"])) * 1000)
                acked_ids.add(frame["client_id"])
                acked += 1
                if next_index < per_socket:
                    send(ws, next_index, sent)
                    next_index += 1
            elif frame["type"] == "error":
                # Refused before the ack (rate limit, quota), or a failed tutor turn after it:
                # either way that message will get no tutor reply.
                refused[frame["code"]] = refused.get(frame["code"], 0) + 1
                client_id = frame.get("client_id", "")
                if sent.pop(client_id, None) is not None or client_id in acked_ids:
                    answered += 1
            elif frame["type"] == "message" and frame["message"]["role"] == "tutor":
                answered += 1
        return acked

    start = time.perf_counter()
    acked = sum(await asyncio.gather(*(run(ws) for ws in conns)))
    wall = time.perf_counter() - start
    for ws in conns:
        ws.close()
    stored = 0
    client = AsyncHTTPClient()
    for sid in ids:
        response = await client.fetch(f"{server.api_url}sessions/{sid}", headers=server.auth)
        stored += sum(1 for m in json.loads(response.body)["messages"] if m["role"] == "learner")
    return {
        "sent": sockets * per_socket,
        "acked": acked,
        "stored": stored,
        "refused": refused,
        "acks": acks,
        "wall_s": wall,
    }


def row(name: str, measured: str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return f"| {name:<48} | {measured:>22} | {target:>13} | {verdict:<6} |"


async def main_async(args: argparse.Namespace) -> int:
    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-server-"))
    # Every installed extension on, as on a learner's machine; only warnings in the log.
    server = LiveServer(
        base,
        server={"log_level": "WARN"},
        extra_args=[f"--TutorNBApp.{option}" for option in args.server_option],
        only_tutornb=False,
    )
    try:
        context = prepare_course(server)
        disk = fsync_baseline(server.root)
        appends: list[float] = []
        long_id = seed_long_session(server, context, 1000, appends)
        server.start()
        # Let startup settle (tutornb's one-off collection + gc.freeze two seconds in), as on a
        # server that has been up for a while.
        time.sleep(3)
        await measure_restore(server, long_id, 5)  # warm-up (imports, caches)
        restore = await measure_restore(server, long_id, args.restores)
        acks, deltas, replies = await measure_chat(server, context, args.sessions, 10)
        cpu_before = cpu_seconds(server)
        many = await measure_many(server, context, args.sockets, args.messages, burst=False)
        many["server_cpu_ms"] = (cpu_seconds(server) - cpu_before) * 1000 / many["sent"]
        burst = (
            await measure_many(server, context, args.sockets, args.messages, burst=True)
            if args.burst
            else None
        )
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    lost = many["sent"] - many["acked"] - sum(many["refused"].values())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "tutornb server benchmark (jupyter server subprocess on 127.0.0.1, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.1f})",
        "",
        row("metric", "measured", "target", None),
        "|" + "-" * 50 + "|" + "-" * 24 + "|" + "-" * 15 + "|" + "-" * 8 + "|",
        row(
            "context: bare write+fsync on this disk, p50 / p99",
            f"{pct(disk, 50):.2f} / {pct(disk, 99):.2f} ms",
            "-",
            None,
        ),
        row(
            "context: store append (in-process), p50 / p99",
            f"{pct(appends, 50):.2f} / {pct(appends, 99):.2f} ms",
            "-",
            None,
        ),
        row(
            f"restore 1,000-message session, p50 / p99 (n={len(restore)})",
            f"{pct(restore, 50):.1f} / {pct(restore, 99):.1f} ms",
            "p99 <= 15 ms",
            pct(restore, 99) <= TARGETS["restore"],
        ),
        row(
            f"ack latency, p50 / p99 (n={len(acks)})",
            f"{pct(acks, 50):.1f} / {pct(acks, 99):.1f} ms",
            "p99 <= 20 ms",
            pct(acks, 99) <= TARGETS["ack"],
        ),
        row(
            "first tutor delta (course tutor), p50 / p99",
            f"{pct(deltas, 50):.1f} / {pct(deltas, 99):.1f} ms",
            "<= 50 ms",
            pct(deltas, 50) <= TARGETS["first_delta"],
        ),
        row(
            "full tutor reply, p50 / p99",
            f"{pct(replies, 50):.1f} / {pct(replies, 99):.1f} ms",
            "-",
            None,
        ),
        row(
            f"{args.sockets} sockets x {args.messages} msgs: acked / sent",
            f"{many['acked']} / {many['sent']}",
            "lost = 0",
            lost == 0,
        ),
        row(
            f"{args.sockets} sockets: learner messages stored",
            f"{many['stored']}",
            "= acked",
            many["stored"] == many["acked"],
        ),
        row(
            f"{args.sockets} sockets: ack p50 / p99",
            f"{pct(many['acks'], 50):.1f} / {pct(many['acks'], 99):.1f} ms",
            "p99 <= 100 ms",
            pct(many["acks"], 99) <= TARGETS["many_ack"],
        ),
        row(
            f"{args.sockets} sockets: server CPU per message + reply",
            f"{many['server_cpu_ms']:.2f} ms",
            "-",
            None,
        ),
        row(
            f"{args.sockets} sockets: all replies in",
            f"{many['wall_s']:.1f} s",
            "-",
            None,
        ),
    ]
    if many["refused"]:
        lines.append(f"error frames (refusals before an ack, failed turns after): {many['refused']}")
    if burst is not None:
        lines.append(
            f"stress (every socket writes its {args.messages} messages at once): acked "
            f"{burst['acked']} / {burst['sent']}, stored {burst['stored']}, ack p50 / p99 "
            f"{pct(burst['acks'], 50):.0f} / {pct(burst['acks'], 99):.0f} ms, "
            f"all replies in {burst['wall_s']:.1f} s, refused {burst['refused'] or 0}"
        )
    print("\n".join(lines))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restores", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20, help="quiet-chat sessions (10 msgs each)")
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--burst", action="store_true", help="also run the write-everything-at-once stress")
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        metavar="TRAIT=VALUE",
        help="a TutorNBApp option for the server, e.g. max_concurrent_turns=2 (repeatable)",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
