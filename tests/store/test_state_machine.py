"""Property test: the session store (with its lifecycle) against a plain in-memory model, across
restarts, compactions and idle expiry."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tutornb import lifecycle
from tutornb.errors import InvalidSessionState, SessionNotFound
from tutornb.models import CourseContext, Phase, Role, Status
from tutornb.store import NewMessage, SessionQuery, SessionStore

START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
EXPIRY_DAYS = 2.0


@dataclass
class ModelSession:
    status: Status = Status.ACTIVE
    phase: Phase = Phase.INTAKE
    messages: list[tuple[Role, str]] = field(default_factory=list)
    clients: dict[str, int] = field(default_factory=dict)
    last_active: datetime = START


class StoreMachine(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="tutornb-sm-")) / ".tutornb"
        self.store = SessionStore(self.folder, background_compaction=False, compact_bytes=4096)
        self.model: dict[str, ModelSession] = {}
        self.deleted: set[str] = set()
        self.clock = START

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder.parent, ignore_errors=True)

    def tick(self, minutes: int) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    @rule(target=sessions, minutes=st.integers(0, 600))
    def create(self, minutes: int) -> str:
        now = self.tick(minutes)
        session = self.store.create_session("learner", CourseContext(course_id="c"), now=now)
        self.model[session.id] = ModelSession(last_active=now)
        return session.id

    @rule(
        sid=sessions,
        role=st.sampled_from(list(Role)),
        text=st.text(min_size=1, max_size=30),
        client=st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
        minutes=st.integers(0, 900),
    )
    def append(self, sid: str, role: Role, text: str, client: str | None, minutes: int) -> None:
        now = self.tick(minutes)
        message = NewMessage(role, text, client_id=client)
        if sid in self.deleted:
            with pytest.raises(SessionNotFound):
                self.store.append_message(sid, message, now=now)
            return
        model = self.model[sid]
        if client is not None and client in model.clients:
            result = self.store.append_message(sid, message, now=now)
            assert not result.created
            assert result.message.seq == model.clients[client]
            return
        if model.status is Status.CLOSED:
            with pytest.raises(InvalidSessionState):
                self.store.append_message(sid, message, now=now)
            return
        result = self.store.append_message(sid, message, now=now)
        model.messages.append((role, text))
        assert result.created
        assert result.message.seq == len(model.messages)
        if client is not None:
            model.clients[client] = result.message.seq
        model.last_active = now

    @rule(sid=sessions, target_status=st.sampled_from(list(Status)), minutes=st.integers(0, 300))
    def change_status(self, sid: str, target_status: Status, minutes: int) -> None:
        now = self.tick(minutes)
        if sid in self.deleted:
            with pytest.raises(SessionNotFound):
                self.store.set_status(sid, target_status, now=now)
            return
        model = self.model[sid]
        if lifecycle.can_change_status(model.status, target_status):
            self.store.set_status(sid, target_status, now=now)
            model.status = target_status
            if target_status is Status.ACTIVE:
                model.last_active = now
        else:
            with pytest.raises(InvalidSessionState):
                self.store.set_status(sid, target_status, now=now)

    @rule(sid=sessions, phase=st.sampled_from(list(Phase)))
    def change_phase(self, sid: str, phase: Phase) -> None:
        if sid in self.deleted:
            return
        model = self.model[sid]
        if lifecycle.can_change_phase(model.phase, phase):
            self.store.update_tutor_state(sid, phase=phase)
            model.phase = phase
        else:
            with pytest.raises(InvalidSessionState):
                self.store.update_tutor_state(sid, phase=phase)

    @rule(sid=sessions)
    def delete(self, sid: str) -> None:
        if sid in self.deleted:
            with pytest.raises(SessionNotFound):
                self.store.delete_session(sid)
            return
        self.store.delete_session(sid)
        self.deleted.add(sid)
        del self.model[sid]

    @rule(minutes=st.integers(0, 3000))
    def expire(self, minutes: int) -> None:
        now = self.tick(minutes)
        closed = self.store.expire_idle(EXPIRY_DAYS, now=now)
        expected = {
            sid
            for sid, m in self.model.items()
            if lifecycle.is_expired(m.status, m.last_active, now, EXPIRY_DAYS)
        }
        assert set(closed) == expected
        for sid in expected:
            self.model[sid].status = Status.CLOSED

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = SessionStore(self.folder, background_compaction=False, compact_bytes=4096)

    @rule()
    def compact(self) -> None:
        self.store.compact()

    @invariant()
    def matches_the_model(self) -> None:
        page = self.store.list_sessions(SessionQuery(limit=200))
        assert page.total == len(self.model)
        assert {s.id for s in page.sessions} == set(self.model)
        for sid, model in self.model.items():
            detail = self.store.get_detail(sid)
            assert detail.status is model.status
            assert detail.phase is model.phase
            assert detail.message_count == len(model.messages)
            assert [(m.role, m.text) for m in detail.messages] == model.messages
            assert detail.last_active_at == model.last_active
        assert self.store.stats().recovered == []


StoreMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_store_matches_model = StoreMachine.TestCase
