"""The chat frames as JSON-able dicts, and the decoding of what clients send.

Frames are the contract in docs/architecture.md ("Chat frames"); building them in one place keeps
the WebSocket and the kernel comm byte-for-byte the same. Nothing a client sent is echoed back
unless it is a well-formed id.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tutornb.errors import InvalidRequest, TutorNBError
from tutornb.models import Message, Session, SessionDetail

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def summary_dict(session: Session) -> dict[str, Any]:
    """A session as the ``state`` frame and the history show it: no transcript, no tutor state."""
    return session.model_dump(mode="json", exclude={"state", "messages"})


def message_dict(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json")


def session_frame(detail: SessionDetail) -> dict[str, Any]:
    return {"type": "session", "session": detail.model_dump(mode="json")}


def ack_frame(client_id: str, message: Message) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "message": message_dict(message)}


def message_frame(message: Message, stream_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "message", "message": message_dict(message)}
    if stream_id:
        # Which deltas this message completes, so a client can replace the streamed text.
        frame["stream_id"] = stream_id
    return frame


def delta_frame(stream_id: str, text: str) -> dict[str, Any]:
    return {"type": "delta", "message_id": stream_id, "text": text}


def state_frame(session: Session) -> dict[str, Any]:
    return {"type": "state", "session": summary_dict(session)}


#: What a client sees of a bug: no exception text, class or traceback (those go to the log once).
INTERNAL_MESSAGE = "Something went wrong in tutornb; nothing already saved was lost. Try again."


def wire_error(exc: BaseException) -> dict[str, Any]:
    """The one mapping from an exception to ``{code, message}`` for frames and comm replies (the
    socket and kernel-comm family; HTTP has ``server.base.error_payload``). The caller logs an
    unexpected exception with its traceback; its text never reaches the client."""
    if isinstance(exc, TutorNBError):
        return exc.to_dict()
    return {"code": TutorNBError.code, "message": INTERNAL_MESSAGE}


def error_frame(exc: BaseException, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", **wire_error(exc)}
    if client_id:
        frame["client_id"] = client_id
    return frame


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def encode(frame: Mapping[str, Any]) -> str:
    """The one place a frame becomes text. Never a ``NaN`` or ``Infinity`` literal: the page's
    ``JSON.parse`` rejects them and the whole frame (a session's restore payload) would be lost,
    so a non-finite number that reached the store anyway is sent as ``null``."""
    try:
        return json.dumps(frame, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(frame), allow_nan=False)


def client_id_of(frame: object) -> str | None:
    """The frame's client_id, only when it is a well-formed id (it is echoed in error frames)."""
    if isinstance(frame, Mapping):
        value = frame.get("client_id")
        if isinstance(value, str) and _CLIENT_ID.fullmatch(value):
            return value
    return None


def decode(raw: str | bytes | bytearray | memoryview | Mapping[str, Any]) -> dict[str, Any]:
    """One client frame as a dict; anything that is not a JSON object is ``INVALID_REQUEST``."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("Frames must be UTF-8 JSON text.") from None
    if not isinstance(raw, str):
        raise InvalidRequest("Frames must be JSON objects.")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("Frames must be valid JSON.") from None
    if not isinstance(frame, dict):
        raise InvalidRequest("Frames must be JSON objects.")
    return frame


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input: never reflect arbitrary client data back."""
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:20]:
        loc = [part if isinstance(part, int) else str(part)[:64] for part in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", ""))[:200], "type": str(err.get("type", ""))})
    return out
