"""The model proxy: learners' servers call the service, which adds the API key.

Per hub user a token bucket bounds calls a minute; per course a token budget bounds the total the
course may spend (the upstream's reported ``usage``, else an estimate of four bytes a token). Each
call is logged as one JSON line (user, course, model, tokens, status): never the text.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from tutornb.service.ratelimit import RateLimiter

MAX_BODY_BYTES = 2 * 1024 * 1024


class ProxyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Call:
    user: str
    course: str
    model: str
    request_bytes: int
    response_bytes: int = 0
    tokens: int | None = None
    status: int = 0


def _usage_tokens(line: bytes) -> int | None:
    """``usage.total_tokens`` of one SSE ``data:`` line or a plain JSON body, if it says."""
    text = line.strip()
    if text.startswith(b"data:"):
        text = text[5:].strip()
    if not text.startswith(b"{") or b'"usage"' not in text:
        return None
    try:
        usage = json.loads(text).get("usage") or {}
        total = usage.get("total_tokens")
    except (ValueError, AttributeError):
        return None
    return int(total) if isinstance(total, int) else None


class ModelProxy:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        per_minute: int,
        burst: int,
        course_budget: int,
        usage_log: Path,
        timeout: float,
    ) -> None:
        self.base_url = base_url
        self._key = api_key
        self.limiter = RateLimiter(per_minute, burst)
        self.course_budget = course_budget
        self.used: Counter[str] = Counter()
        self.usage_log = usage_log
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10))
        self._log: TextIO | None = None
        self._load_usage()

    def _load_usage(self) -> None:
        if not self.usage_log.exists():
            return
        with self.usage_log.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    self.used[str(entry["course"])] += int(entry.get("tokens") or 0)
                except (ValueError, KeyError, TypeError):
                    continue

    def admit(self, user: str, course: str, body: bytes) -> tuple[dict[str, Any], Call]:
        if not self.base_url:
            raise ProxyRefused(503, "MODEL_NOT_CONFIGURED", "the service has no model configured")
        if len(body) > MAX_BODY_BYTES:
            raise ProxyRefused(413, "INVALID_REQUEST", "the request is too large")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise ProxyRefused(400, "INVALID_REQUEST", "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise ProxyRefused(400, "INVALID_REQUEST", "the body must be a JSON object")
        if self.course_budget and self.used[course] >= self.course_budget:
            raise ProxyRefused(429, "BUDGET_EXHAUSTED", f"course {course!r} has used its token budget")
        if not self.limiter.try_acquire(user):
            raise ProxyRefused(429, "RATE_LIMITED", "too many model calls; wait a minute")
        return payload, Call(user, course, str(payload.get("model", ""))[:200], len(body))

    async def forward(self, call: Call, payload: dict[str, Any]) -> AsyncIterator[tuple[int, bytes]]:
        """The upstream's status with each piece of its answer, as it arrives."""
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = self._client.build_request(
            "POST", self.base_url + "/chat/completions", json=payload, headers=headers
        )
        tail = b""
        try:
            response = await self._client.send(request, stream=True)
            call.status = response.status_code
            try:
                async for piece in response.aiter_bytes():
                    call.response_bytes += len(piece)
                    lines = (tail + piece).split(b"\n")
                    tail = lines.pop()
                    for line in lines:
                        call.tokens = _usage_tokens(line) or call.tokens
                    yield response.status_code, piece
                call.tokens = _usage_tokens(tail) or call.tokens
            finally:
                await response.aclose()
        finally:
            self._record(call)

    def _record(self, call: Call) -> None:
        tokens = call.tokens if call.tokens is not None else (call.request_bytes + call.response_bytes) // 4
        self.used[call.course] += tokens
        entry = {
            "time": round(time.time(), 3),
            "user": call.user,
            "course": call.course,
            "model": call.model,
            "tokens": tokens,
            "estimated": call.tokens is None,
            "status": call.status,
        }
        if self._log is None:
            # line-buffered: each entry reaches the file whole, without reopening it per call
            self._log = self.usage_log.open("a", encoding="utf-8", buffering=1)
        self._log.write(json.dumps(entry) + "\n")

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._log is not None:
            self._log.close()
