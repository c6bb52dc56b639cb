"""Tables: the in-memory database every change (local, replayed, another process's) goes through."""

from __future__ import annotations

from typing import Any

import pytest

from tutornb.store import files
from tutornb.store.files import Damaged
from tutornb.store.journaled.tables import Tables


def test_journal_operations_update_documents_ids_versions_and_listeners() -> None:
    # Given tables with a listener
    tables = Tables()
    heard: list[tuple[Any, ...]] = []
    tables.listeners.append(lambda *event: heard.append(event))
    # When a journal entry puts, deletes, clears and drops
    tables.apply_ops([["put", "t", "1", {"a": 1}], ["put", "t", "7", {"a": 7}]], notify=True)
    assert tables.next_id("t") == 8
    tables.apply_ops([["del", "t", "1"]], notify=True)
    tables.apply_ops([["put", "u", "1", {}], ["clear", "u"], ["drop", "t"]], notify=True)
    # Then memory, ids and listeners agree
    assert tables.names() == {"u"}
    assert tables.materialize("u") == {}
    assert tables.materialize("t") == {}
    assert tables.next_id("u") == 1
    assert heard[:3] == [("t", "1", None, {"a": 1}), ("t", "7", None, {"a": 7}), ("t", "1", {"a": 1}, None)]
    assert heard[-1] == ("t", None, None, None)
    assert tables.versions["t"] > tables.versions["u"] > 0


def test_unknown_operation_is_damage() -> None:
    with pytest.raises(Damaged):
        Tables().apply_ops([["rename", "t"]], notify=False)


def test_raw_tables_parse_lazily_and_round_trip_through_a_snapshot() -> None:
    # Given a snapshot of two tables, one never parsed
    source = Tables()
    source.apply_ops([["put", "a", "1", {"x": "é"}], ["put", "b", "2", {"y": [1, 2]}]], notify=False)
    generation, raw = files.decode_snapshot(source.encode_snapshot(5))
    # When another Tables installs it
    copy = Tables()
    copy.install(raw)
    # Then nothing is parsed until asked, and the content is identical
    assert generation == 5
    assert copy.live == {}
    assert copy.materialize("b") == {"2": {"y": [1, 2]}}
    assert set(copy.live) == {"b"}
    again = files.decode_snapshot(copy.encode_snapshot(6))[1]
    assert again == raw


def test_a_failing_listener_never_breaks_a_change() -> None:
    tables = Tables()

    def broken(*_event: Any) -> None:
        raise KeyError("bug")

    tables.listeners.append(broken)
    tables.apply_ops([["put", "t", "1", {"ok": True}]], notify=True)
    assert tables.materialize("t") == {"1": {"ok": True}}
