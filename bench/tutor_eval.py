"""Tutor evaluation: learner messages through a real server's chat socket, graded against the cells
that answer them.

Run: ``python -m bench.tutor_eval COURSE_DIR QUESTIONS.json`` (``--json OUT`` saves the figures,
``--skip-model`` skips the model-backed run, ``--show N`` prints the first N failures).

The course is copied into a temporary server root first; when the questions file names an
``overlay`` (an instructor's ``metadata.tutornb`` per notebook, kept beside it in ``bench/eval/``),
it is written into the COPIES only: the course's own files are never changed, and its text never
enters this project. Two real ``jupyter server`` subprocesses on 127.0.0.1 answer the messages:

* the offline ``course`` tutor: cite hit (answerable messages whose reply cites an expected cell),
  false refusals (answerable or guidance messages answered with "not in this course"), honest
  refusals (off-topic messages answered with it), quiz turns, reply latency (send → tutor message);
* the ``openai`` tutor pointed at a loopback server speaking the Chat Completions SSE protocol that
  records every prompt: prompt recall (answerable messages whose prompt holds an expected cell's
  content).

Messages sharing a ``conversation`` go to one session in order (follow-ups); every other message
gets a session of its own. A message with ``work`` sends it in the frame (the learner's last cell
and its error); a server that does not accept the field yet gets the error pasted in the text, as a
learner would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.support.live_server import LiveServer

REPO = Path(__file__).resolve().parents[1]

#: What an honest "this course does not cover it" reply says (both tutors' wording).
REFUSAL_RE = re.compile(
    r"doesn't cover|does not cover|not in this course|isn't in this course|is not covered|isn't covered",
    re.IGNORECASE,
)
QUIZ_RE = re.compile(r"Correct!|Not quite|Quiz (time|on)|question \d+ of|Say \*\*go\*\*", re.IGNORECASE)
TARGETS = {"cite_hit": 0.90, "false_refusals": 1 / 30, "honest_refusals": 0.90, "prompt_recall": 0.90}
TARGET_P50_MS = 50.0
COURSE_FOLDER = "course"


# -------------------------------------------------------------------------------------------------
# The evaluation set


@dataclass
class Item:
    id: str
    category: str
    notebook: str
    text: str
    expect: str
    cells: list[int] = field(default_factory=list)
    conversation: str | None = None
    work: dict[str, Any] | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.cells) and self.expect in {"answer", "guide"}


@dataclass
class Outcome:
    item: Item
    text: str
    cited: list[tuple[str, int]]
    seconds: float
    quiz: bool
    work_sent: bool

    @property
    def cite_hit(self) -> bool:
        path = f"{COURSE_FOLDER}/{self.item.notebook}"
        return any(p == path and c in self.item.cells for p, c in self.cited)

    @property
    def refused(self) -> bool:
        return bool(REFUSAL_RE.search(self.text))


def load_items(path: Path) -> tuple[list[Item], dict[str, Any] | None]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    overlay = None
    if doc.get("overlay"):
        overlay = json.loads((path.parent / doc["overlay"]).read_text(encoding="utf-8"))
    items = [
        Item(
            id=raw["id"],
            category=raw["category"],
            notebook=raw["notebook"],
            text=raw["text"],
            expect=raw.get("expect", "answer"),
            cells=[int(c) for c in raw.get("cells") or []],
            conversation=raw.get("conversation"),
            work=raw.get("work"),
        )
        for raw in doc["items"]
    ]
    return items, overlay


def prepare_course(source: Path, root: Path, overlay: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The course copied under the server root, with the instructor's overlay applied to the copy;
    the session context of every notebook."""
    target = root / COURSE_FOLDER
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    for name, meta in (overlay or {}).get("notebooks", {}).items():
        path = target / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.setdefault("metadata", {})["tutornb"] = meta
        path.write_text(json.dumps(doc), encoding="utf-8")
    contexts: dict[str, dict[str, Any]] = {}
    for path in sorted(target.glob("*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("tutornb", {})
        context = {
            k: meta[k]
            for k in ("course_id", "course_title", "module_id", "module_title")
            if isinstance(meta.get(k), str)
        }
        context["notebook_path"] = f"{COURSE_FOLDER}/{path.name}"
        contexts[path.name] = context
    return contexts


def cell_texts(source: Path) -> dict[tuple[str, int], str]:
    """Every cell's source by (notebook, index), for checking what a prompt showed."""
    found: dict[tuple[str, int], str] = {}
    for path in source.glob("*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for index, cell in enumerate(cells):
            text = cell.get("source", "")
            found[(path.name, index)] = "".join(text) if isinstance(text, list) else str(text)
    return found


def conversations(items: list[Item]) -> Iterator[list[Item]]:
    """Items grouped by conversation, in file order (a lone item is a conversation of one)."""
    groups: dict[str, list[Item]] = {}
    order: list[str] = []
    for item in items:
        key = item.conversation or f"solo:{item.id}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    for key in order:
        yield groups[key]


# -------------------------------------------------------------------------------------------------
# A loopback model service that records prompts


class PromptRecorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecorderHandler)
        self.prompts: list[list[dict[str, str]]] = []
        self.lock = threading.Lock()

    def take(self) -> list[list[dict[str, str]]]:
        with self.lock:
            taken, self.prompts = self.prompts, []
        return taken

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _RecorderHandler(BaseHTTPRequestHandler):
    server: PromptRecorder

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with self.server.lock:
            self.server.prompts.append(body.get("messages", []))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {"choices": [{"index": 0, "delta": {"content": "Recorded."}}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())


def _squash(text: str) -> str:
    return " ".join(text.split())


def shown(prompt: str, cell: str) -> bool:
    """A cell counts as shown when its first meaningful 60 characters are in the prompt."""
    squashed = _squash(cell)
    return bool(squashed) and squashed[:60] in prompt


# -------------------------------------------------------------------------------------------------
# Running messages through a real server


async def _tutor_reply(ws: WebSocketClientConnection, timeout: float = 30.0) -> tuple[dict[str, Any], bool]:
    """The next stored tutor message (and whether the frame was an error instead)."""
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.read_message(), max(deadline - time.monotonic(), 0.1))
        if raw is None:
            raise RuntimeError("the chat socket closed")
        frame = json.loads(raw)
        if frame["type"] == "message" and frame["message"]["role"] == "tutor":
            return frame["message"], False
        if frame["type"] == "error":
            return frame, True


async def run_conversation(server: LiveServer, context: dict[str, Any], items: list[Item]) -> list[Outcome]:
    async with httpx.AsyncClient(base_url=server.api_url, headers=server.auth, timeout=30) as client:
        response = await client.post("sessions", json={"context": context})
        response.raise_for_status()
        session_id = response.json()["id"]
    ws = await websocket_connect(HTTPRequest(server.ws_url(session_id), headers=server.auth))
    try:
        await ws.read_message()  # the session frame
        outcomes = []
        for item in items:
            frame: dict[str, Any] = {"type": "message", "client_id": uuid.uuid4().hex, "text": item.text}
            work_sent = False
            if item.work:
                frame["work"] = item.work
                work_sent = True
            start = time.perf_counter()
            await ws.write_message(json.dumps(frame))
            message, failed = await _tutor_reply(ws)
            if failed and work_sent and message.get("code") == "INVALID_REQUEST":
                # A server without the ``work`` field: the learner pastes the error instead.
                frame = {
                    "type": "message",
                    "client_id": uuid.uuid4().hex,
                    "text": f"{item.text}\n\n{item.work['code']}\n\n{item.work.get('error', '')}".strip(),
                }
                work_sent = False
                start = time.perf_counter()
                await ws.write_message(json.dumps(frame))
                message, failed = await _tutor_reply(ws)
            seconds = time.perf_counter() - start
            if failed:
                outcomes.append(Outcome(item, f"ERROR {message.get('code')}", [], seconds, False, work_sent))
                continue
            cited = [(c["notebook_path"], c["cell_index"]) for c in message.get("citations", [])]
            quiz = bool(message.get("quiz")) or bool(QUIZ_RE.search(message["text"]))
            outcomes.append(Outcome(item, message["text"], cited, seconds, quiz, work_sent))
        return outcomes
    finally:
        ws.close()


async def run_all(
    server: LiveServer, contexts: dict[str, dict[str, Any]], items: list[Item]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for group in conversations(items):
        outcomes.extend(await run_conversation(server, contexts[group[0].notebook], group))
    return outcomes


async def run_model(
    server: LiveServer,
    recorder: PromptRecorder,
    contexts: dict[str, dict[str, Any]],
    items: list[Item],
    cells: dict[tuple[str, int], str],
) -> dict[str, bool]:
    """Per answerable item: did the prompt the model got hold an expected cell's content?"""
    recalled: dict[str, bool] = {}
    for group in conversations(items):
        for position in range(len(group)):
            # Replay the conversation up to this item, so follow-ups carry their history.
            recorder.take()
            await run_conversation(server, contexts[group[0].notebook], group[: position + 1])
            item = group[position]
            if not item.answerable:
                continue
            prompts = recorder.take()
            last = _squash(" ".join(m.get("content", "") for m in prompts[-1])) if prompts else ""
            recalled[item.id] = any(shown(last, cells.get((item.notebook, c), "")) for c in item.cells)
    return recalled


# -------------------------------------------------------------------------------------------------
# Report


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def figures(outcomes: list[Outcome], recalled: dict[str, bool] | None) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.item.answerable and o.item.expect == "answer"]
    guided = [o for o in outcomes if o.item.expect == "guide"]
    off_topic = [o for o in outcomes if o.item.expect == "refuse"]
    quiz = [o for o in outcomes if o.item.expect == "quiz"]
    helpful = answerable + guided
    result: dict[str, Any] = {
        "messages": len(outcomes),
        "answerable": len(answerable),
        "cite_hit": sum(o.cite_hit for o in answerable) / max(len(answerable), 1),
        "false_refusals": sum(o.refused for o in helpful) / max(len(helpful), 1),
        "false_refusals_count": f"{sum(o.refused for o in helpful)}/{len(helpful)}",
        "honest_refusals": sum(o.refused for o in off_topic) / max(len(off_topic), 1),
        "quiz_turns_ok": sum(o.quiz for o in quiz) / max(len(quiz), 1),
        "reply_p50_ms": pct([o.seconds * 1000 for o in outcomes], 50),
        "reply_p95_ms": pct([o.seconds * 1000 for o in outcomes], 95),
        "work_sent_in_frame": sum(o.work_sent for o in outcomes),
        "per_category": {},
    }
    if recalled is not None:
        result["prompt_recall"] = sum(recalled.values()) / max(len(recalled), 1)
    categories = sorted({o.item.category for o in outcomes})
    for category in categories:
        mine = [o for o in outcomes if o.item.category == category]
        graded = [o for o in mine if o.item.cells]
        result["per_category"][category] = {
            "messages": len(mine),
            "cite_hit": f"{sum(o.cite_hit for o in graded)}/{len(graded)}" if graded else "-",
            "refused": sum(o.refused for o in mine),
            "prompt_recall": (
                f"{sum(recalled.get(o.item.id, False) for o in graded)}/"
                f"{sum(o.item.id in recalled for o in graded)}"
                if recalled is not None and graded
                else "-"
            ),
        }
    return result


def markdown(name: str, result: dict[str, Any]) -> str:
    def ok(value: float, target: float, lower: bool = False) -> str:
        return "yes" if (value <= target if lower else value >= target) else "**no**"

    rows = [
        f"### {name}: {result['messages']} learner messages ({result['answerable']} answerable)",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
        f"| cite hit | {result['cite_hit']:.0%} | ≥ 90% | {ok(result['cite_hit'], TARGETS['cite_hit'])} |",
        f"| false refusals | {result['false_refusals_count']} ({result['false_refusals']:.1%}) | ≤ 1/30 | "
        f"{ok(result['false_refusals'], TARGETS['false_refusals'], lower=True)} |",
        f"| honest refusals | {result['honest_refusals']:.0%} | ≥ 90% | "
        f"{ok(result['honest_refusals'], TARGETS['honest_refusals'])} |",
    ]
    if "prompt_recall" in result:
        rows.append(
            f"| prompt recall (openai tutor) | {result['prompt_recall']:.0%} | ≥ 90% | "
            f"{ok(result['prompt_recall'], TARGETS['prompt_recall'])} |"
        )
    rows += [
        f"| quiz turns answered as quiz | {result['quiz_turns_ok']:.0%} | - | - |",
        f"| reply latency p50 / p95 | {result['reply_p50_ms']:.1f} / {result['reply_p95_ms']:.1f} ms | "
        f"p50 ≤ 50 ms | {ok(result['reply_p50_ms'], TARGET_P50_MS, lower=True)} |",
        f"| messages whose `work` the server took | {result['work_sent_in_frame']} | - | - |",
        "",
        "| category | messages | cite hit | refused | prompt recall |",
        "|---|---|---|---|---|",
    ]
    for category, row in result["per_category"].items():
        rows.append(
            f"| {category} | {row['messages']} | {row['cite_hit']} | {row['refused']} | "
            f"{row['prompt_recall']} |"
        )
    return "\n".join(rows)


def failures(outcomes: list[Outcome], limit: int) -> str:
    lines = []
    for o in outcomes:
        bad = (
            (o.item.expect == "answer" and o.item.cells and not o.cite_hit)
            or (o.item.expect in {"answer", "guide"} and o.refused)
            or (o.item.expect == "refuse" and not o.refused)
            or (o.item.expect == "quiz" and not o.quiz)
        )
        if bad:
            first = o.text.strip().splitlines()[0][:100] if o.text.strip() else ""
            lines.append(f"- {o.item.id}: {o.item.text[:60]!r} cited {[c for _, c in o.cited]} → {first}")
    return "\n".join(lines[:limit])


def use_this_python(base: Path) -> None:
    """``python -m jupyter server`` runs the first ``jupyter-server`` on PATH, which may belong to
    another Python (and another tutornb) when this environment has no scripts of its own: put one
    that runs this interpreter first on PATH."""
    folder = base / "bin"
    folder.mkdir()
    script = folder / "jupyter-server"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m jupyter_server "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


async def main_async(args: argparse.Namespace) -> int:
    items, overlay = load_items(args.questions)
    base = Path(tempfile.mkdtemp(prefix="tutornb-eval-"))
    use_this_python(base)
    source = [args.tutornb_src] if args.tutornb_src else []
    try:
        course_server = LiveServer(base / "course-tutor", python_path=source)
        contexts = prepare_course(args.course_dir, course_server.root, overlay)
        cells = cell_texts(course_server.root / COURSE_FOLDER)
        with course_server:
            outcomes = await run_all(course_server, contexts, items)
        recalled: dict[str, bool] | None = None
        if not args.skip_model:
            recorder = PromptRecorder()
            thread = threading.Thread(target=recorder.serve_forever, daemon=True)
            thread.start()
            try:
                model_server = LiveServer(
                    base / "openai-tutor",
                    python_path=source,
                    tutornb={
                        "tutor": "openai",
                        "tutor_options": {
                            "base_url": f"http://127.0.0.1:{recorder.server_address[1]}/v1",
                            "model": "recorder",
                            "timeout": 10,
                        },
                    },
                )
                prepare_course(args.course_dir, model_server.root, overlay)
                with model_server:
                    recalled = await run_model(model_server, recorder, contexts, items, cells)
            finally:
                recorder.shutdown()
        result = figures(outcomes, recalled)
        print(markdown(args.name or args.questions.stem, result))
        if args.show:
            print("\nFirst failures:\n" + failures(outcomes, args.show))
        if args.json:
            args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("course_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--name", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--show", type=int, default=0)
    parser.add_argument(
        "--tutornb-src",
        type=Path,
        default=None,
        help="run the servers on another checkout's tutornb (e.g. a worktree of main for BEFORE figures)",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
