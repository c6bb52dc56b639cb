"""Group commit of learner messages, on the real store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tutornb.errors import SessionNotFound
from tutornb.models import CourseContext, Role
from tutornb.service.batching import AppendBatcher
from tutornb.store.api import AppendResult, NewMessage
from tutornb.store.sessions import SessionStore

# Coroutine tests on asyncio (anyio's pytest plugin; no Jupyter server involved).
pytestmark = pytest.mark.anyio


def learner(text: str, client_id: str) -> NewMessage:
    return NewMessage(role=Role.LEARNER, text=text, client_id=client_id)


async def test_messages_arriving_together_are_stored_together_and_fail_alone(
    tmp_path: Path,
) -> None:
    # Given two sessions and a batcher on the real store
    store = SessionStore(tmp_path / ".tutornb")
    first = store.create_session("me", CourseContext(), "a").id
    second = store.create_session("me", CourseContext(), "b").id
    batcher = AppendBatcher(store, logging.getLogger("test"))
    # When 20 messages, one for a session that does not exist, and a repeated client_id arrive
    # in the same moment
    calls = [batcher.append(first, learner(f"m{i}", f"c{i}")) for i in range(10)]
    calls.append(batcher.append("missing", learner("lost", "x")))
    calls += [batcher.append(second, learner(f"n{i}", f"d{i}")) for i in range(10)]
    calls.append(batcher.append(first, learner("m0 again", "c0")))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    # Then each caller gets its own outcome: stored in order, not found, and the repeat deduplicated
    stored = [o for o in outcomes if isinstance(o, AppendResult)]
    assert [o.message.seq for o in stored[:10]] == list(range(1, 11))
    assert isinstance(outcomes[10], SessionNotFound)
    assert [o.message.seq for o in stored[10:20]] == list(range(1, 11))
    repeat = outcomes[-1]
    assert isinstance(repeat, AppendResult)
    assert repeat.created is False
    assert repeat.message.id == stored[0].message.id
    store.close()
    # And everything acknowledged is on disk: a fresh store sees it
    reopened = SessionStore(tmp_path / ".tutornb")
    try:
        assert [m.text for m in reopened.messages(first)] == [f"m{i}" for i in range(10)]
        assert len(reopened.messages(second)) == 10
    finally:
        reopened.close()


async def test_a_single_message_is_written_on_its_own(tmp_path: Path) -> None:
    # Given a quiet store
    store = SessionStore(tmp_path / ".tutornb")
    sid = store.create_session("me", CourseContext(), "a").id
    batcher = AppendBatcher(store, logging.getLogger("test"))
    # When one message arrives
    result = await batcher.append(sid, learner("hello", "h1"))
    # Then it is stored as by the store itself
    assert result.created is True
    assert [m.text for m in store.messages(sid)] == ["hello"]
    store.close()
