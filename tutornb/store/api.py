"""The session store's contract, as the service and the CLI use it.

``tutornb.store.SessionStore`` implements it on the durable TinyDB storage; keeping the contract separate lets
the service and its tests depend on what the store promises rather than on how it keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tutornb.models import (
    ActionLogEntry,
    Citation,
    CourseContext,
    LearnerWork,
    Message,
    Phase,
    QuizPrompt,
    Role,
    Session,
    SessionDetail,
    SessionExport,
    SessionPage,
    Status,
    StoreStats,
    StudyPlan,
    TutorState,
)


@dataclass(frozen=True)
class SessionQuery:
    owner: str | None = None
    q: str | None = None
    course_id: str | None = None
    module_id: str | None = None
    notebook_path: str | None = None
    statuses: frozenset[Status] | None = None
    limit: int = 30
    cursor: str | None = None


@dataclass(frozen=True)
class NewMessage:
    role: Role
    text: str
    html: str | None = None
    client_id: str | None = None
    citations: tuple[Citation, ...] = ()
    quiz: QuizPrompt | None = None
    work: LearnerWork | None = None
    #: On a tutor message that ended early: "cut_off" (the model's stream broke) or "stopped".
    interrupted: str | None = None


@dataclass(frozen=True)
class AppendResult:
    message: Message
    #: False when ``client_id`` was seen before and the stored message is returned unchanged.
    created: bool
    session: Session


class SessionStoreAPI(Protocol):
    """Every method is durable on return (fsync'd) and safe against other processes on the same store."""

    def create_session(
        self,
        owner: str,
        context: CourseContext,
        title: str | None = None,
        *,
        session_id: str | None = None,
        now: datetime | None = None,
    ) -> Session: ...

    def get_session(self, session_id: str, *, owner: str | None = None) -> Session:
        """Raises SessionNotFound (also when ``owner`` is given and differs)."""
        ...

    def get_detail(self, session_id: str, *, owner: str | None = None) -> SessionDetail: ...

    def list_sessions(self, query: SessionQuery) -> SessionPage:
        """Newest ``last_active_at`` first; ``q`` is a case-insensitive substring of titles and messages."""
        ...

    def messages(self, session_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[Message]: ...

    def append_message(
        self, session_id: str, message: NewMessage, *, now: datetime | None = None
    ) -> AppendResult:
        """Stores the message with the next ``seq`` and bumps counts and times, in one durable commit.

        Idempotent on ``client_id``: a repeat returns the stored message with ``created=False``.
        Raises QuotaExceeded before writing anything when the store would pass its quota.
        """
        ...

    def find_client_message(self, session_id: str, client_id: str) -> Message | None:
        """The message stored with ``client_id`` in that session (an index lookup, not a scan)."""
        ...

    def batch(self) -> AbstractContextManager[object]:
        """Writes made inside share one durable commit (one fsync); a write that raises inside is
        rolled back alone, and a commit that fails leaves none of them stored."""
        ...

    def set_status(self, session_id: str, status: Status, *, now: datetime | None = None) -> Session:
        """Validates the transition (lifecycle) and raises InvalidSessionState when it is not allowed."""
        ...

    def update_tutor_state(
        self,
        session_id: str,
        *,
        state: TutorState | None = None,
        phase: Phase | None = None,
        current_question_number: int | None = None,
        actions: Iterable[ActionLogEntry] = (),
        now: datetime | None = None,
    ) -> Session:
        """State, phase and action-log entries in one durable commit (phase checked by lifecycle)."""
        ...

    def append_action(self, session_id: str, entry: ActionLogEntry) -> None: ...

    def actions(self, session_id: str) -> list[ActionLogEntry]: ...

    def delete_session(self, session_id: str) -> None: ...

    def export_session(self, session_id: str) -> SessionExport: ...

    def import_session(self, document: SessionExport, *, owner: str) -> Session:
        """Re-derives counts; assigns a new id when the old one is taken."""
        ...

    def expire_idle(self, expiry_days: float, *, now: datetime | None = None) -> list[str]:
        """Closes sessions idle past ``expiry_days``; returns their ids."""
        ...

    def cleanup(self, *, older_than_days: float | None = None, max_sessions: int | None = None) -> list[str]:
        """Retention: deletes old sessions (closed ones first); returns the deleted ids."""
        ...

    def get_plan(self, key: str) -> StudyPlan | None: ...

    def put_plan(self, key: str, plan: StudyPlan, ttl: timedelta) -> None: ...

    def stats(self) -> StoreStats: ...

    def owner_stats(self, owner: str) -> StoreStats:
        """Counts and bytes of one owner's sessions (``quota_bytes`` is the store's)."""
        ...

    def close(self) -> None: ...
