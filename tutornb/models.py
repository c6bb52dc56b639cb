"""Pydantic v2 models at every edge of tutornb: the store, the REST API, the chat frames, the tutors.

These shapes are promises to outside clients (see docs/architecture.md, "Contracts"); change them
only with a schema migration.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    model_serializer,
)

#: Version of the stored session schema; bumped together with a migration in ``tutornb.store``.
SCHEMA_VERSION = 2

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")]
ShortText = Annotated[str, StringConstraints(max_length=500)]


def utcnow() -> datetime:
    """Timezone-aware UTC now; every stored time is UTC so ordering never depends on the host."""
    return datetime.now(timezone.utc)


def is_valid_session_id(value: object) -> bool:
    return isinstance(value, str) and SESSION_ID_RE.fullmatch(value) is not None


class Status(str, Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Phase(str, Enum):
    INTAKE = "intake"
    PLANNING = "planning"
    LEARNING = "learning"
    QUIZZING = "quizzing"
    ANALYZING = "analyzing"
    COMPLETED = "completed"


class Role(str, Enum):
    LEARNER = "learner"
    TUTOR = "tutor"
    SYSTEM = "system"


class _Model(BaseModel):
    # defer_build: validators are built on a model's first use, not at import. ``%tutor`` imports
    # this module in a fresh kernel and uses only a few of these models.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class CourseContext(_Model):
    """Where a session belongs. Every field is optional: a notebook without metadata still gets a session."""

    course_id: ShortText | None = None
    course_title: ShortText | None = None
    module_id: ShortText | None = None
    module_title: ShortText | None = None
    notebook_path: Annotated[str, StringConstraints(max_length=1024)] | None = None


class Citation(_Model):
    notebook_path: str
    cell_index: int = Field(ge=0)
    heading: str = ""


class QuizQuestion(_Model):
    """A question as written in a notebook's ``metadata.tutornb.quiz`` (the answer stays server-side)."""

    id: str
    question: str
    choices: list[str] = Field(min_length=2)
    answer: int = Field(ge=0)
    explanation: str = ""
    #: Misconception text per wrong choice, keyed by the choice index as a string ("0", "2", ...).
    misconceptions: dict[str, str] = Field(default_factory=dict)
    objective: str | None = None


class QuizPrompt(_Model):
    """What the learner sees of a quiz question: never the answer."""

    question_id: str
    number: int = Field(ge=1)
    total: int = Field(ge=1)
    question: str
    choices: list[str]


#: Size limits of a learner's work attached to a message (see :class:`LearnerWork`).
WORK_CODE_MAX = 20_000
WORK_ERROR_MAX = 20_000


class LearnerWork(_Model):
    """The learner's own last executed cell (and its error) attached to a learner message, so the
    tutor can explain a failure in terms of the learner's line and names. Captured kernel-side."""

    # Strict: a client's "3" or true is refused rather than guessed into a cell index.
    model_config = ConfigDict(extra="forbid", strict=True)

    cell_index: int | None = Field(default=None, ge=0, le=100_000)
    code: str = Field(min_length=1, max_length=WORK_CODE_MAX)
    error: str | None = Field(default=None, max_length=WORK_ERROR_MAX)

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The wire shape is ``{"cell_index"?, "code", "error"?}``: absent stays absent, never null.
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


#: Why a tutor message is incomplete: the model stream was cut off, or the learner pressed Stop.
Interruption = Literal["cut_off", "stopped"]


class Message(_Model):
    id: str
    seq: int = Field(ge=1)
    role: Role
    text: str
    html: str | None = None
    created_at: datetime
    client_id: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    quiz: QuizPrompt | None = None
    #: On learner messages: the work the learner asked about (``None`` when none was attached).
    work: LearnerWork | None = None
    #: On tutor messages: set when the reply is incomplete (stored as far as it got, offered for retry).
    interrupted: Interruption | None = None
    #: Set on every message of an imported session: said elsewhere, never the model's own history.
    imported: Literal[True] | None = None


class PlanStep(_Model):
    objective: str
    sections: list[Citation] = Field(default_factory=list)
    status: Literal["pending", "in_progress", "done"] = "pending"


class StudyPlan(_Model):
    topic: str
    steps: list[PlanStep] = Field(default_factory=list)
    cache_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class QuizAnswerRecord(_Model):
    question_id: str
    choice: int
    correct: bool
    at: datetime = Field(default_factory=utcnow)


class QuizProgress(_Model):
    question_ids: list[str] = Field(default_factory=list)
    #: Index into ``question_ids`` of the question being asked (== len when finished).
    current_index: int = 0
    answers: list[QuizAnswerRecord] = Field(default_factory=list)
    open_question_id: str | None = None

    @property
    def score(self) -> int:
        return sum(1 for a in self.answers if a.correct)


class Misconception(_Model):
    text: str
    objective: str | None = None
    question_id: str | None = None
    at: datetime = Field(default_factory=utcnow)


class TutorState(_Model):
    """Everything a tutor needs to continue a session exactly where it stopped."""

    topic: str | None = None
    plan: StudyPlan | None = None
    quiz: QuizProgress | None = None
    #: Mastery per objective, 0.0 .. 1.0.
    mastery: dict[str, float] = Field(default_factory=dict)
    misconceptions: list[Misconception] = Field(default_factory=list)
    summary: str = ""
    #: Free-form state for third-party tutors; the course tutor leaves it empty.
    extra: dict[str, Any] = Field(default_factory=dict)


class ActionLogEntry(_Model):
    at: datetime = Field(default_factory=utcnow)
    action: str
    data: dict[str, Any] = Field(default_factory=dict)
    reasoning: str = ""


class PreviewMessage(_Model):
    role: Role
    text: str


class SessionSummary(_Model):
    """A session as listed in the history: no transcript, no tutor state."""

    id: str
    owner: str
    status: Status = Status.ACTIVE
    phase: Phase = Phase.INTAKE
    context: CourseContext = Field(default_factory=CourseContext)
    title: str = ""
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime
    message_count: int = Field(default=0, ge=0)
    current_question_number: int = Field(default=0, ge=0)
    schema_version: int = SCHEMA_VERSION
    #: The last two messages, for the resume offer.
    preview: list[PreviewMessage] = Field(default_factory=list)


class Session(SessionSummary):
    state: TutorState = Field(default_factory=TutorState)


class SessionDetail(Session):
    """The restore payload: a session with its whole transcript."""

    messages: list[Message] = Field(default_factory=list)


class SessionPage(_Model):
    sessions: list[SessionSummary]
    next_cursor: str | None = None
    total: int


class StoreStats(_Model):
    path: str
    sessions: int
    messages: int
    bytes: int
    quota_bytes: int
    recovered: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Request bodies and chat frames (client -> server). Unknown fields are refused at these edges.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CreateSessionRequest(_Strict):
    context: CourseContext = Field(default_factory=CourseContext)
    title: Annotated[str, StringConstraints(max_length=200)] | None = None


class MessageFrame(_Strict):
    type: Literal["message"]
    client_id: ClientId
    text: Annotated[str, StringConstraints(min_length=1)]
    #: The learner's last executed cell (and its error), when the page or the magic attaches it.
    work: LearnerWork | None = None


class AnswerFrame(_Strict):
    type: Literal["answer"]
    question_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    choice: int = Field(ge=0, le=100)
    client_id: ClientId | None = None


class ControlFrame(_Strict):
    type: Literal["pause", "resume", "close"]


class StopFrame(_Strict):
    """Ends the tutor's streaming turn; what it said so far is kept, marked ``stopped``."""

    type: Literal["stop"]


ClientFrame = Annotated[MessageFrame | AnswerFrame | ControlFrame | StopFrame, Field(discriminator="type")]
CLIENT_FRAME: TypeAdapter[MessageFrame | AnswerFrame | ControlFrame | StopFrame] = TypeAdapter(
    ClientFrame, config=ConfigDict(defer_build=True)
)

ExportFormat = Literal["json", "markdown", "ipynb"]


class SessionExport(_Model):
    """The JSON export document (also the import body)."""

    format: Literal["tutornb.session"] = "tutornb.session"
    schema_version: int = SCHEMA_VERSION
    exported_at: datetime = Field(default_factory=utcnow)
    session: Session
    messages: list[Message]
    actions: list[ActionLogEntry] = Field(default_factory=list)
