"""The service's model proxy against a real loopback model: the key added upstream, usage counted
from the model's own figures and logged without text, a course stopped at its token budget and a
user at their rate, across a restart of the service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.model_server import ANSWER, ModelServer
from tutornb.hub.modelproxy import ModelProxy, ProxyRefused

BODY = json.dumps(
    {"model": "m", "stream": True, "messages": [{"role": "user", "content": "my secret question"}]}
).encode()


def _proxy(model: ModelServer, log: Path, *, budget: int = 0, per_minute: int = 600) -> ModelProxy:
    return ModelProxy(
        base_url=model.url, api_key="sk-proxy-test", per_minute=per_minute, burst=2,
        course_budget=budget, usage_log=log, timeout=30,
    )  # fmt: skip


async def _call(proxy: ModelProxy, user: str, course: str) -> bytes:
    payload, call = proxy.admit(user, course, BODY)
    return b"".join([piece async for _, piece in proxy.forward(call, payload)])


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def test_the_budget_stops_a_course_and_survives_a_restart(model: ModelServer, tmp_path: Path) -> None:
    log = tmp_path / "usage.jsonl"

    async def run() -> None:
        proxy = _proxy(model, log, budget=150)
        answer = await _call(proxy, "ann", "py101")
        assert ANSWER.encode() in answer
        await _call(proxy, "bo", "py101")  # 200 of 150 tokens: the next call is refused
        with pytest.raises(ProxyRefused) as refused:
            proxy.admit("ann", "py101", BODY)
        assert (refused.value.status, refused.value.code) == (429, "BUDGET_EXHAUSTED")
        await _call(proxy, "ann", "other-course")  # another course has its own budget
        await proxy.aclose()
        restarted = _proxy(model, log, budget=150)
        with pytest.raises(ProxyRefused):
            restarted.admit("cy", "py101", BODY)
        await restarted.aclose()

    asyncio.run(run())
    assert {s.authorization for s in model.seen} == {"Bearer sk-proxy-test"}
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["user"], e["course"], e["tokens"]) for e in entries] == [
        ("ann", "py101", 100),
        ("bo", "py101", 100),
        ("ann", "other-course", 100),
    ]
    assert "secret question" not in log.read_text()


def test_a_user_past_their_rate_is_refused_others_are_not(model: ModelServer, tmp_path: Path) -> None:
    async def run() -> None:
        proxy = _proxy(model, tmp_path / "usage.jsonl", per_minute=1)
        proxy.admit("ann", "c", BODY)
        proxy.admit("ann", "c", BODY)  # the burst of 2
        with pytest.raises(ProxyRefused) as refused:
            proxy.admit("ann", "c", BODY)
        assert refused.value.code == "RATE_LIMITED"
        proxy.admit("bo", "c", BODY)
        with pytest.raises(ProxyRefused) as bad:
            proxy.admit("bo", "c", b"not json")
        assert bad.value.status == 400
        await proxy.aclose()

    asyncio.run(run())
