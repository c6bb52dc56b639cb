"""The body of ``POST /tutornb/api/kernel/ask`` (:mod:`tutornb.server.kernelask`), validated at the edge
by pydantic; imported on the first kernel question, not at server start."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutornb.errors import InvalidRequest
from tutornb.frames import validation_errors
from tutornb.models import CourseContext, LearnerWork


class KernelAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: CourseContext
    session_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    #: Length and blank text are the service's to refuse (its configured limit, its message).
    text: str
    work: LearnerWork | None = None


def parse_kernel_ask(body: bytes) -> KernelAsk:
    """The question, or ``INVALID_REQUEST`` with the fields that do not fit."""
    try:
        return KernelAsk.model_validate(json.loads(body))
    except ValidationError as exc:
        raise InvalidRequest("Invalid kernel question.", errors=validation_errors(exc)) from None
    except ValueError:
        raise InvalidRequest("Invalid kernel question: not JSON.") from None
