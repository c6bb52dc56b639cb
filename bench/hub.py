"""The tutornb-hub service on a simulated class: uploads, the live class view, the model proxy's
overhead and the service's memory.

    python -m bench.hub                      # 1,000 learners (targets: uploads <= 10 s, class view
                                             # <= 2 s, proxy overhead <= 5 ms p50, memory <= 150 MiB)
    python -m bench.hub --learners 5000

The service runs in its own process (``--serve``, the real tornado app and handlers), with the
hub's identity replaced by a table of bench tokens: token checks are the hub's work, cached by
HubAuth in a deployment, and not what is measured here. Learners come from
``bench/class_report.py``'s simulation of the sample course; the model is a loopback
OpenAI-protocol server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from bench.class_report import course_modules, simulate_learner
from bench.figures import show
from tests.support.model_server import ModelServer
from tutornb.instructor.reports.exchange import render_report

COURSE = "python-foundations"
INSTRUCTOR = "instructor"
PREFIX = "/services/tutornb/"


class _Teachers:
    async def teaches(self, user: str, course_id: str) -> bool:
        return user == INSTRUCTOR


def _identify(handler: Any) -> dict[str, str] | None:
    token = handler.request.headers.get("Authorization", "").removeprefix("token ")
    return {"name": token, "kind": "user"} if token else None


def serve(port: int, data_dir: Path, model_url: str) -> None:
    from tornado.ioloop import IOLoop

    from tutornb.hub.app import make_app
    from tutornb.hub.handlers import IDENTIFY
    from tutornb.hub.settings import HubServiceSettings
    from tutornb.hub.state import open_state

    os.environ["TUTORNB_HUB_MODEL_API_KEY"] = "sk-bench"
    settings = HubServiceSettings(
        data_dir=data_dir, courses_dir=data_dir / "courses", model_base_url=model_url,
        rate_limit_per_minute=0, min_group_size=5,
    )  # fmt: skip
    app = make_app(open_state(settings, _Teachers()), None, PREFIX, **{IDENTIFY: _identify})
    app.listen(port, "127.0.0.1")
    print("ready", flush=True)
    IOLoop.current().start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _uploads(base: str, bodies: list[tuple[str, bytes]]) -> float:
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        gate = asyncio.Semaphore(16)

        async def one(learner: str, body: bytes) -> None:
            async with gate:
                response = await client.post(
                    f"courses/{COURSE}/reports", content=body, headers={"Authorization": f"token {learner}"}
                )
                assert response.status_code == 201, response.text

        started = time.perf_counter()
        await asyncio.gather(*(one(learner, body) for learner, body in bodies))
        return time.perf_counter() - started


def _chat(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    payload = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hello"}]}
    started = time.perf_counter()
    with client.stream("POST", url, json=payload, headers=headers) as response:
        assert response.status_code == 200
        for _ in response.iter_bytes():
            pass
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "DATA", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]), args.serve[2])
        return
    rng, now = random.Random(7), datetime.now(timezone.utc)
    modules = [m for m in course_modules() if m.quiz]
    bodies = []
    for index in range(args.learners):
        report = simulate_learner(index, modules, rng, now).model_copy(update={"course_id": COURSE})
        bodies.append((report.learner, render_report(report)))
    with tempfile.TemporaryDirectory() as tmp, ModelServer() as model:
        port = _free_port()
        service = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), tmp, model.url],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert service.stdout is not None
            assert service.stdout.readline().strip() == "ready"
            base = f"http://127.0.0.1:{port}{PREFIX}"
            idle_mib = _rss_mib(service.pid)
            upload_s = asyncio.run(_uploads(base, bodies))
            with httpx.Client(base_url=base, timeout=60) as client:
                mine = {"Authorization": f"token {INSTRUCTOR}"}
                views = []
                for _ in range(5):
                    started = time.perf_counter()
                    page = client.get(f"courses/{COURSE}/class", headers=mine)
                    views.append(time.perf_counter() - started)
                    assert page.status_code == 200
                view = client.get(f"courses/{COURSE}/class.json", headers=mine).json()
                assert view["learners"] == args.learners
                learner = {"Authorization": f"token {bodies[0][0]}"}
                direct, proxied = [], []
                for _ in range(args.calls):  # interleaved: both see the same load on the machine
                    direct.append(_chat(client, model.url + "/chat/completions", {}))
                    proxied.append(_chat(client, f"courses/{COURSE}/v1/chat/completions", learner))
            loaded_mib = _rss_mib(service.pid)
        finally:
            service.terminate()
            service.wait(10)
    show(
        f"tutornb-hub service, {args.learners} learners, {args.calls} model calls",
        {
            f"{args.learners} report uploads (16 at a time)": f"{upload_s:.2f} s (target <= 10 s)",
            "class view page, median of 5": f"{statistics.median(views):.3f} s (target <= 2 s)",
            "model call direct, p50": f"{statistics.median(direct):.2f} ms",
            "model call through the service, p50": f"{statistics.median(proxied):.2f} ms",
            "proxy overhead, p50": f"{statistics.median(proxied) - statistics.median(direct):.2f} ms "
            "(target <= 5 ms)",
            "service memory idle / with all reports": f"{idle_mib:.0f} / {loaded_mib:.0f} MiB "
            "(target <= 150)",
            "class view learners": json.dumps(view["learners"]),
        },
    )


if __name__ == "__main__":
    main()
