"""ChangeLog and UpdateView: only what an updater touched is journaled, and all of it can be undone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tutornb.store import files
from tutornb.store.journaled.changes import ChangeLog, UpdateView
from tutornb.store.journaled.tables import Tables


def _tables() -> Tables:
    tables = Tables()
    tables.apply_ops([["put", "t", str(i), {"n": i}] for i in range(1, 101)], notify=False)
    return tables


def _ops(log: ChangeLog) -> list[Any]:
    payload = files.unframe(log.line()[:-1])
    assert payload is not None
    return list(json.loads(payload))


def test_only_touched_documents_are_journaled() -> None:
    # Given a 100-document table
    tables = _tables()
    log = ChangeLog(tables)
    view = UpdateView(tables, "t", int)

    # When an updater reads every document but changes one in place and deletes another
    def updater(docs: Any) -> None:
        for doc_id in list(docs):
            if docs[doc_id]["n"] == 5:
                docs[doc_id]["n"] = 50
        del docs[7]

    updater(view)
    log.record_view(view, normalize=True)
    # Then the journal line holds exactly those two changes
    assert _ops(log) == [["put", "t", "5", {"n": 50}], ["del", "t", "7"]]
    assert log.needs_space


def test_rollback_to_a_savepoint_undoes_only_the_inner_block() -> None:
    tables = _tables()
    log = ChangeLog(tables)
    first = UpdateView(tables, "t", int)
    first[1] = {"n": -1}
    log.record_view(first, normalize=True)
    savepoint = log.savepoint()
    inner = UpdateView(tables, "t", int)
    inner[2] = {"n": -2}
    inner.clear()
    log.record_view(inner, normalize=True)
    log.record_drop("t")
    assert tables.materialize("t") == {}
    # When the inner block rolls back
    log.rollback_to(*savepoint)
    # Then the outer change stays and everything else is back
    docs = tables.materialize("t")
    assert docs["1"] == {"n": -1}
    assert docs["2"] == {"n": 2}
    assert len(docs) == 100
    assert [op[0] for op in _ops(log)] == ["put"]


def test_a_failing_updater_is_rolled_back_by_its_view() -> None:
    tables = _tables()
    view = UpdateView(tables, "t", int)

    def updater(docs: Any) -> None:
        docs[3]["n"] = 300  # in place, before raising
        docs[200] = {"n": 200}
        raise ValueError("updater bug")

    with pytest.raises(ValueError):
        updater(view)
    view.rollback()
    assert tables.materialize("t")["3"] == {"n": 3}
    assert "200" not in tables.materialize("t")


def test_normalize_keeps_in_memory_what_disk_will_read_back() -> None:
    tables = Tables()
    log = ChangeLog(tables)
    view = UpdateView(tables, "t", int)
    view[1] = {"pair": (1, 2)}
    log.record_view(view, normalize=True)
    assert tables.materialize("t")["1"] == {"pair": [1, 2]}
