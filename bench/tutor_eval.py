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
import subprocess
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
TARGETS = {
    "answer_hit": 0.80,
    "cite_hit": 0.90,
    "false_refusals": 0.03,
    "honest_refusals": 0.90,
    "prompt_recall": 0.90,
}
TARGET_P50_MS = 50.0
TARGET_RSS_MIB = 40.0
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
    #: For graders: a one-sentence ideal reply, substrings of which a correct reply holds one, and
    #: substrings whose presence marks a wrong recommendation.
    ideal: str = ""
    answer_any: list[str] = field(default_factory=list)
    answer_none: list[str] = field(default_factory=list)

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

    @property
    def answer_hit(self) -> bool:
        """The reply holds the answer itself: one of ``answer_any`` and none of ``answer_none``
        (case-insensitive); a refusal never counts, whatever it echoes."""
        if self.refused or not self.item.answer_any:
            return False
        text = self.text.lower()
        return any(a.lower() in text for a in self.item.answer_any) and not any(
            n.lower() in text for n in self.item.answer_none
        )


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
            ideal=raw.get("ideal", ""),
            answer_any=[str(a) for a in raw.get("answer_any") or []],
            answer_none=[str(a) for a in raw.get("answer_none") or []],
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
    graded = [o for o in helpful if o.item.answer_any]
    result: dict[str, Any] = {
        "messages": len(outcomes),
        "answerable": len(answerable),
        "answer_graded": len(graded),
        "answer_hit": sum(o.answer_hit for o in graded) / len(graded) if graded else None,
        "answer_hit_count": f"{sum(o.answer_hit for o in graded)}/{len(graded)}",
        "false_refusals_n": sum(o.refused for o in helpful),
        "helpful": len(helpful),
        "cite_hit": sum(o.cite_hit for o in answerable) / max(len(answerable), 1),
        "false_refusals": sum(o.refused for o in helpful) / max(len(helpful), 1),
        "false_refusals_count": f"{sum(o.refused for o in helpful)}/{len(helpful)}",
        "honest_refusals": sum(o.refused for o in off_topic) / max(len(off_topic), 1),
        "honest_refusals_count": f"{sum(o.refused for o in off_topic)}/{len(off_topic)}",
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
        with_answers = [o for o in mine if o.item.answer_any and o.item.expect in {"answer", "guide"}]
        result["per_category"][category] = {
            "messages": len(mine),
            "cite_hit": f"{sum(o.cite_hit for o in graded)}/{len(graded)}" if graded else "-",
            "refused": sum(o.refused for o in mine),
            "answer_hit": (
                f"{sum(o.answer_hit for o in with_answers)}/{len(with_answers)}" if with_answers else "-"
            ),
            "prompt_recall": (
                f"{sum(recalled.get(o.item.id, False) for o in graded)}/"
                f"{sum(o.item.id in recalled for o in graded)}"
                if recalled is not None and graded
                else "-"
            ),
        }
    return result


def _fmt(value: float | None, spec: str = ".0%") -> str:
    return "-" if value is None or value != value else format(value, spec)


def markdown(name: str, result: dict[str, Any]) -> str:
    def ok(value: float | None, target: float, lower: bool = False) -> str:
        if value is None:
            return "-"
        return "yes" if (value <= target if lower else value >= target) else "**no**"

    rows = [
        f"### {name}: {result['messages']} learner messages ({result['answerable']} answerable)",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
        f"| answer hit | {result['answer_hit_count']} ({_fmt(result['answer_hit'])}) | ≥ 80% | "
        f"{ok(result['answer_hit'], TARGETS['answer_hit'])} |",
        f"| cite hit | {result['cite_hit']:.0%} | ≥ 90% | {ok(result['cite_hit'], TARGETS['cite_hit'])} |",
        f"| false refusals | {result['false_refusals_count']} ({result['false_refusals']:.1%}) | ≤ 3% | "
        f"{ok(result['false_refusals'], TARGETS['false_refusals'], lower=True)} |",
        f"| honest refusals | {result['honest_refusals_count']} ({result['honest_refusals']:.0%}) | ≥ 90% | "
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
    ]
    if "server_rss_growth_mib" in result:
        rows.append(
            f"| server memory growth over the run (RSS) | {result['server_rss_growth_mib']:.1f} MiB | "
            f"≤ 40 MiB | {ok(result['server_rss_growth_mib'], TARGET_RSS_MIB, lower=True)} |"
        )
    if "index" in result:
        index = result["index"]
        rows.append(
            f"| index build cold / warm / restart ({index['notebooks']} notebooks) | {index['cold_ms']:.0f}"
            f" / {index['warm_ms']:.1f} / {index.get('restart_ms', float('nan')):.0f} ms | - | - |"
        )
        rows.append(f"| model load (first turn) | {index['model_ms']:.0f} ms | - | - |")
        rows.append(
            f"| memory growth: model + index | {index['rss_growth_mib']:.1f} MiB | ≤ 40 MiB | "
            f"{ok(index['rss_growth_mib'], TARGET_RSS_MIB, lower=True)} |"
        )
    rows += [
        "",
        "| category | messages | answer hit | cite hit | refused | prompt recall |",
        "|---|---|---|---|---|---|",
    ]
    for category, row in result["per_category"].items():
        rows.append(
            f"| {category} | {row['messages']} | {row.get('answer_hit', '-')} | {row['cite_hit']} | "
            f"{row['refused']} | {row['prompt_recall']} |"
        )
    return "\n".join(rows)


#: The figures averaged over courses (each course weighs the same: a macro average).
MACRO_KEYS = (
    "answer_hit",
    "cite_hit",
    "false_refusals",
    "honest_refusals",
    "prompt_recall",
    "reply_p50_ms",
    "reply_p95_ms",
)


def macro(results: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    averaged: dict[str, float | None] = {}
    for key in MACRO_KEYS:
        values = [r[key] for r in results.values() if r.get(key) is not None]
        averaged[key] = sum(values) / len(values) if values else None
    return averaged


def macro_markdown(title: str, results: dict[str, dict[str, Any]]) -> str:
    rows = [
        f"### {title}",
        "",
        "| course | answer hit | cite hit | false refusals | honest refusals | prompt recall "
        "| p50 / p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(name: str, r: dict[str, Any]) -> str:
        return (
            f"| {name} | {_fmt(r.get('answer_hit'))} | {_fmt(r.get('cite_hit'))} | "
            f"{_fmt(r.get('false_refusals'), '.1%')} | {_fmt(r.get('honest_refusals'))} | "
            f"{_fmt(r.get('prompt_recall'))} | {_fmt(r.get('reply_p50_ms'), '.1f')} / "
            f"{_fmt(r.get('reply_p95_ms'), '.1f')} |"
        )

    for name, result in results.items():
        rows.append(row(name, result))
    rows.append(row("**macro**", macro(results)))
    return "\n".join(rows)


def failures(outcomes: list[Outcome], limit: int) -> str:
    lines = []
    for o in outcomes:
        bad = (
            (o.item.expect == "answer" and o.item.cells and not o.cite_hit)
            or (o.item.expect in {"answer", "guide"} and o.refused)
            or (o.item.expect == "refuse" and not o.refused)
            or (o.item.expect == "quiz" and not o.quiz)
            or (o.item.expect in {"answer", "guide"} and o.item.answer_any and not o.answer_hit)
        )
        if bad:
            first = o.text.strip().splitlines()[0][:100] if o.text.strip() else ""
            lines.append(
                f"- {o.item.id}: {o.item.text[:60]!r} cited {[c for _, c in o.cited]}"
                f"{'' if o.answer_hit or not o.item.answer_any else ' (no answer)'} → {first}"
            )
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


#: Measures, in a fresh interpreter, the index of a course folder: the first build (cold: words and,
#: when the tutor has them, embeddings; no cache on disk), a turn's refresh when nothing changed
#: (warm), a rebuild by a restarted server (embeddings from the disk cache), the model's load and the
#: memory all of it adds. Only ``index_for`` and ``search`` are used, so it
#: runs on older checkouts too (``--tutornb-src``).
_INDEX_PROBE = r"""
import json, shutil, sys, tempfile, time
from pathlib import Path
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
# A fresh copy of the course: nothing cached on disk for it yet.
root = Path(tempfile.mkdtemp(prefix="tutornb-index-"))
rel = sys.argv[2]
folder = rel.rsplit("/", 1)[0]
shutil.copytree(Path(sys.argv[1]) / folder, root / folder, ignore=shutil.ignore_patterns(".*"))
from tutornb.tutors import retrieval
try:
    from tutornb.tutors import semantic
except ImportError:
    semantic = None
before = rss()
model_ms = 0.0
if semantic is not None:
    started = time.perf_counter()
    semantic.model()
    model_ms = (time.perf_counter() - started) * 1000
def build(fresh):
    if fresh:
        retrieval.clear_indexes()
    started = time.perf_counter()
    index, path = retrieval.index_for(root, rel)
    index.refresh(force_scan=True)
    index.search("how do I start", course_id=index.notebook(path).course_id, current=path)
    return (time.perf_counter() - started) * 1000
cold = build(True)
warm = min(build(False) for _ in range(5))
restart = min(build(True) for _ in range(3))
index, path = retrieval.index_for(root, rel)
print(json.dumps({"notebooks": index.refresh(force_scan=True).scanned, "cold_ms": cold,
                  "warm_ms": warm, "restart_ms": restart, "model_ms": model_ms,
                  "rss_growth_mib": rss() - before}))
shutil.rmtree(root, ignore_errors=True)
"""


def index_figures(root: Path, notebook: str, tutornb_src: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if tutornb_src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tutornb_src), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _INDEX_PROBE, str(root), notebook],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def rss_mib(server: LiveServer) -> float | None:
    """The server process's resident memory, from ``/proc``."""
    if server.process is None:
        return None
    try:
        status = Path(f"/proc/{server.process.pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), None)
    return int(line.split()[1]) / 1024 if line else None


async def evaluate(
    course_dir: Path, questions: Path, *, tutornb_src: Path | None, skip_model: bool
) -> tuple[dict[str, Any], list[Outcome]]:
    """Every message of one evaluation set through both tutors; the figures."""
    items, overlay = load_items(questions)
    base = Path(tempfile.mkdtemp(prefix="tutornb-eval-"))
    use_this_python(base)
    source = [tutornb_src] if tutornb_src else []
    try:
        course_server = LiveServer(base / "course-tutor", python_path=source)
        contexts = prepare_course(course_dir, course_server.root, overlay)
        cells = cell_texts(course_server.root / COURSE_FOLDER)
        with course_server:
            started_rss = rss_mib(course_server)
            outcomes = await run_all(course_server, contexts, items)
            ended_rss = rss_mib(course_server)
        recalled: dict[str, bool] | None = None
        if not skip_model:
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
                prepare_course(course_dir, model_server.root, overlay)
                with model_server:
                    recalled = await run_model(model_server, recorder, contexts, items, cells)
            finally:
                recorder.shutdown()
        result = figures(outcomes, recalled)
        if started_rss is not None and ended_rss is not None:
            result["server_rss_growth_mib"] = ended_rss - started_rss
        first = sorted(contexts)[0]
        result["index"] = index_figures(course_server.root, f"{COURSE_FOLDER}/{first}", tutornb_src)
        return result, outcomes
    finally:
        shutil.rmtree(base, ignore_errors=True)


def twenty_notebooks(sources: list[Path], target: Path, count: int = 20) -> str:
    """A course of ``count`` notebooks made of the evaluation courses' notebooks (one course id), for
    the indexing figure; the first notebook's path."""
    notebooks = [p for folder in sources for p in sorted(folder.glob("*.ipynb"))]
    target.mkdir(parents=True)
    for number in range(count):
        doc = json.loads(notebooks[number % len(notebooks)].read_text(encoding="utf-8"))
        doc.setdefault("metadata", {})["tutornb"] = {"course_id": "twenty", "module_title": f"M{number}"}
        (target / f"{number:02d}.ipynb").write_text(json.dumps(doc), encoding="utf-8")
    return f"{target.name}/00.ipynb"


#: The suite: the sample course and the three shared courses (``cfd-python`` is held out: tune on
#: the others, read its failures only at the end, report it on its own).
SHARED = REPO.parent / "shared" / "eval-courses"  # ../shared/eval-courses beside the checkout
HELD_OUT = "cfd-python"


def suite(shared: Path) -> dict[str, tuple[Path, Path]]:
    return {
        "sample-course": (REPO / "notebooks", REPO / "bench" / "eval" / "sample-course.questions.json"),
        "whirlwind-tour-of-python": (
            shared / "whirlwind-tour-of-python",
            shared / "whirlwind-tour-of-python.questions.json",
        ),
        "scientific-python-lectures": (
            shared / "scientific-python-lectures",
            REPO / "bench" / "eval" / "scientific-python-lectures.questions.json",
        ),
        HELD_OUT: (shared / HELD_OUT, shared / f"{HELD_OUT}.questions.json"),
    }


async def main_async(args: argparse.Namespace) -> int:
    runs: dict[str, tuple[Path, Path]]
    if args.all:
        runs = suite(args.shared)
    elif args.course_dir and args.questions:
        runs = {args.name or args.questions.stem: (args.course_dir, args.questions)}
    else:
        raise SystemExit("give COURSE_DIR QUESTIONS.json, or --all")
    results: dict[str, dict[str, Any]] = {}
    for name, (course_dir, questions) in runs.items():
        result, outcomes = await evaluate(
            course_dir, questions, tutornb_src=args.tutornb_src, skip_model=args.skip_model
        )
        results[name] = result
        print(markdown(name, result), flush=True)
        if args.show and (name != HELD_OUT or args.show_held_out):
            print("\nFirst failures:\n" + failures(outcomes, args.show))
        print(flush=True)
    if len(results) > 1:
        tuned = {k: v for k, v in results.items() if k != HELD_OUT}
        print(macro_markdown("Macro over every course", results))
        print()
        print(macro_markdown("Macro over the courses tuned on (held-out course excluded)", tuned))
        if HELD_OUT in results:
            print()
            print(macro_markdown(f"Held out: {HELD_OUT}", {HELD_OUT: results[HELD_OUT]}))
        base = Path(tempfile.mkdtemp(prefix="tutornb-twenty-"))
        try:
            first = twenty_notebooks([c for c, _ in runs.values()], base / "twenty")
            twenty = index_figures(base, first, args.tutornb_src)
            print(
                f"\n20-notebook course: index cold {twenty['cold_ms']:.0f} ms (target ≤ 3000), warm "
                f"{twenty['warm_ms']:.1f} ms (≤ 50), after a restart {twenty.get('restart_ms', 0):.0f} ms, "
                f"model load {twenty['model_ms']:.0f} ms, memory "
                f"+{twenty['rss_growth_mib']:.1f} MiB (≤ 40)"
            )
            results["twenty-notebooks-index"] = twenty
        finally:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        args.json.write_text(
            json.dumps(results if len(results) > 1 else results[next(iter(results))], indent=1),
            encoding="utf-8",
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("course_dir", type=Path, nargs="?")
    parser.add_argument("questions", type=Path, nargs="?")
    parser.add_argument("--all", action="store_true", help="the sample course and the three shared courses")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared evaluation courses")
    parser.add_argument("--name", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--show", type=int, default=0)
    parser.add_argument(
        "--show-held-out", action="store_true", help="also print the held-out course's failures"
    )
    parser.add_argument(
        "--tutornb-src",
        type=Path,
        default=None,
        help="run the servers on another checkout's tutornb (e.g. a worktree of main for BEFORE figures)",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
