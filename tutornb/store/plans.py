"""Study plans cached in the store (``plans`` table): one per key, until it expires. The tutors
reuse a plan across sessions of the same course module instead of planning again."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from tutornb.models import StudyPlan, utcnow
from tutornb.store.layout import PLANS, iso

if TYPE_CHECKING:
    from tutornb.store.sessions import SessionStore


def get_plan(store: SessionStore, key: str) -> StudyPlan | None:
    now = iso(None)
    with store._reading():
        for doc in store.storage.peek_table(PLANS).values():
            if doc.get("key") == key and doc.get("expires_at", "") > now:
                try:
                    return StudyPlan.model_validate(doc["plan"])
                except ValidationError:
                    return None
    return None


def put_plan(store: SessionStore, key: str, plan: StudyPlan, ttl: timedelta) -> None:
    now = utcnow()
    doc = {"key": key, "plan": plan.model_dump(mode="json"), "expires_at": iso(now + ttl)}
    stamp = iso(now)

    def put() -> None:
        table = store._table(PLANS)
        stale = [
            int(k)
            for k, d in store.storage.peek_table(PLANS).items()
            if d.get("key") == key or d.get("expires_at", "") <= stamp
        ]
        if stale:
            table.remove(doc_ids=stale)
        table.insert(doc)

    store._write(put)
