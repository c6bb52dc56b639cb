"""Group commit for learner messages: one fsync for everything that arrived in the same moment.

An acknowledgement waits for its message to be durable, and durability costs an fsync. When many
learners send at once (a class starting an exercise), one fsync per message queues the last ack
behind all the others. Messages that arrive within the same event-loop tick are therefore written
inside one store transaction (the journaled storage makes that one journal line and one fsync),
and each sender is answered once that single commit is on disk. A quiet server sees batches of
one, i.e. exactly the unbatched behaviour.
"""

from __future__ import annotations

import asyncio
import logging

from tutornb.store.api import AppendResult, NewMessage, SessionStoreAPI

_Pending = tuple[str, NewMessage, "asyncio.Future[AppendResult]"]


class AppendBatcher:
    def __init__(self, store: SessionStoreAPI, logger: logging.Logger) -> None:
        self.store = store
        self.log = logger
        self._pending: list[_Pending] = []
        self._scheduled = False

    async def append(self, session_id: str, message: NewMessage) -> AppendResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        self._pending.append((session_id, message, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if len(batch) == 1:
            self._one_by_one(batch)
            return
        outcomes: list[AppendResult | BaseException] = []
        try:
            with self.store.batch():
                for session_id, message, _ in batch:
                    try:
                        outcomes.append(self.store.append_message(session_id, message))
                    except Exception as exc:  # this one is rolled back (a savepoint), not the rest
                        outcomes.append(exc)
        except Exception as exc:
            # The shared commit failed (quota, I/O): nothing of it is durable. Each message gets
            # its own attempt, so one that fits (or a quota freed by compaction) is still stored.
            self.log.info("tutornb: batched commit failed (%s); retrying one by one", type(exc).__name__)
            self._one_by_one(batch)
            return
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    def _one_by_one(self, batch: list[_Pending]) -> None:
        for session_id, message, future in batch:
            try:
                outcome: AppendResult | BaseException = self.store.append_message(session_id, message)
            except Exception as exc:
                outcome = exc
            _settle(future, outcome)


def _settle(future: asyncio.Future[AppendResult], outcome: AppendResult | BaseException) -> None:
    if future.done():  # the caller went away (cancelled): the message is stored or not, as is
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
