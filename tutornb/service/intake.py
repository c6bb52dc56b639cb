"""What a learner sends, made into a durable message: the checks, then one idempotent append.

Every way in (a chat frame, a quiz answer, ``%tutor ask``) comes through here, so the length limit,
the status check, the rate limit, the owner's quota and idempotency on ``client_id`` are one rule
each. The append goes through :class:`~tutornb.service.batching.AppendBatcher`: messages arriving together
share one fsync, and the acknowledgement waits until the message is on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tutornb import frames
from tutornb.errors import (
    InvalidRequest,
    InvalidSessionState,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
)
from tutornb.lifecycle import accepts_messages
from tutornb.models import LearnerWork, Message, QuizPrompt, Role
from tutornb.render import render_markdown
from tutornb.service.batching import AppendBatcher
from tutornb.service.config import ServiceConfig
from tutornb.service.ratelimit import RateLimiter
from tutornb.store.api import NewMessage, SessionStoreAPI


class LearnerIntake:
    def __init__(self, store: SessionStoreAPI, config: ServiceConfig, logger: logging.Logger) -> None:
        self.store = store
        self.config = config
        self._limiter = RateLimiter(config.rate_limit_per_minute, config.rate_limit_burst)
        self._appends = AppendBatcher(store, logger)

    def forget(self, session_id: str) -> None:
        """Drops a deleted session's rate-limit bucket."""
        self._limiter.forget(session_id)

    def check_length(self, text: object) -> None:
        if isinstance(text, str) and len(text) > self.config.max_message_chars:
            raise PayloadTooLarge(f"Messages are limited to {self.config.max_message_chars} characters.")

    def check_text(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("A message needs some text.")
        self.check_length(text)

    @staticmethod
    def check_work(work: LearnerWork | Mapping[str, Any] | None) -> LearnerWork | None:
        """The learner's work as a frame would carry it; sizes and types checked by the model."""
        if work is None or isinstance(work, LearnerWork):
            return work
        try:
            return LearnerWork.model_validate(dict(work) if isinstance(work, Mapping) else work)
        except ValidationError as exc:
            raise InvalidRequest("Invalid work.", errors=frames.validation_errors(exc)) from None

    async def accept(
        self,
        owner: str,
        session_id: str,
        text: str,
        client_id: str,
        work: LearnerWork | None = None,
    ) -> tuple[Message, bool]:
        """Stores a learner message (idempotent on client_id) after the status and rate checks.

        A resend of an already stored message is acknowledged again even when the session is paused
        or the bucket is empty: what was acknowledged once is never refused later.
        """
        session = self.store.get_session(session_id, owner=owner)
        active = accepts_messages(session.status)
        if not active or not self._limiter.try_acquire(session_id):
            stored = self.store.find_client_message(session_id, client_id)
            if stored is not None:
                return stored, False
            if not active:
                raise InvalidSessionState(
                    f"This session is {session.status.value}; resume it before sending messages."
                )
            raise RateLimited("Too many messages at once; wait a moment and send again.")
        if self.config.owner_quota_bytes:
            # A resend of a stored message is acknowledged again, quota or not.
            stored = self.store.find_client_message(session_id, client_id)
            if stored is not None:
                return stored, False
            self.check_owner_quota(owner, 2 * len(text.encode("utf-8", "surrogatepass")) + 512)
        message = NewMessage(
            role=Role.LEARNER, text=text, html=render_markdown(text), client_id=client_id, work=work
        )
        result = await self._appends.append(session_id, message)
        return result.message, result.created

    def check_owner_quota(self, owner: str, adding: int) -> None:
        """One owner may not take more than ``owner_quota_bytes`` of a shared store."""
        quota = self.config.owner_quota_bytes
        if not quota:
            return
        used = self.store.owner_stats(owner).bytes
        if used + adding > quota:
            raise QuotaExceeded(
                f"Your sessions use {used // 1024} KiB of your {quota // 1024} KiB; "
                "export and delete old sessions to make room."
            )

    def find_quiz(self, owner: str, session_id: str, question_id: str) -> QuizPrompt | None:
        """The question an answer refers to, from the session's own transcript."""
        self.store.get_session(session_id, owner=owner)
        for message in reversed(self.store.messages(session_id)):
            if message.quiz is not None and message.quiz.question_id == question_id:
                return message.quiz
        return None
