"""Conversation memory, read from the stored transcript only.

A follow-up ("what about for dicts?", "and how do I get the last one?") means little alone: it is
read with the learner's previous question and the sections the tutor cited in its last reply. All of
it comes from the session's stored messages, so a session resumed after a server restart remembers
exactly what it remembered before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutornb.models import Citation, Message, Role
from tutornb.tutors.errorhelp import looks_like_traceback
from tutornb.tutors.terms import tokenize

#: How a follow-up opens ("and ...", "what about ...", "can I ...") or refers back ("it", "that").
_FOLLOW_UP_START_RE = re.compile(
    r"^\s*(and|but|also|so|ok(ay)?( so)?|then|what about|how about|and what about|what if|same|"
    r"can i|could i|can it|is it|does it|why does it|why is it|how come|instead)\b",
    re.IGNORECASE,
)
_PRONOUN_RE = re.compile(r"\b(it|that|this|them|those|they|these|one|its)\b", re.IGNORECASE)
#: Messages that steer the conversation rather than ask about the material.
_COMMAND_RE = re.compile(
    r"^\s*(next|go|quiz|hint|plan|stop|yes|no|ok|okay|thanks|[a-d])\b[ .!?]*$", re.IGNORECASE
)
#: A follow-up is short: a long message carries its own topic.
FOLLOW_UP_MAX_TERMS = 5


@dataclass(frozen=True)
class Memory:
    """What the conversation so far tells about the current message."""

    #: The learner's previous question about the material (not a command, not this message).
    last_question: str | None = None
    #: What the tutor cited in its last reply.
    last_citations: tuple[Citation, ...] = ()

    def context_text(self) -> str:
        """The previous question and the headings it was answered from: the topic carried over."""
        headings = " ".join(dict.fromkeys(c.heading for c in self.last_citations[:2]))
        return " ".join(part for part in (self.last_question or "", headings) if part)

    def is_follow_up(self, text: str) -> bool:
        """A short message that opens or refers like a follow-up, when there is something to
        follow up on."""
        if self.last_question is None and not self.last_citations:
            return False
        if looks_like_traceback(text) or len(set(tokenize(text))) > FOLLOW_UP_MAX_TERMS:
            return False
        return bool(_FOLLOW_UP_START_RE.match(text) or _PRONOUN_RE.search(text))


def recall(history: list[Message], current: Message | None) -> Memory:
    """The memory of a turn from its stored history (oldest first, ending with ``current``)."""
    earlier = [m for m in history if current is None or m.id != current.id]
    question = next(
        (
            m.text
            for m in reversed(earlier)
            if m.role is Role.LEARNER and not _COMMAND_RE.match(m.text) and tokenize(m.text)
        ),
        None,
    )
    tutor = next((m for m in reversed(earlier) if m.role is Role.TUTOR), None)
    return Memory(question, tuple(tutor.citations) if tutor is not None else ())
