"""The session service: the one place where session logic lives, and what transports use of it.

Every transport (REST handlers, the chat WebSocket, the widget's kernel comm, the ``%tutor`` magic,
the CLI) imports :class:`TutorService` and its few companion types from here, never the service's
parts (intake, dispatch, turns, the turn queue, connections, batching, rate limits), which only the
service composes.
"""

from __future__ import annotations

from tutornb.service.config import ServiceConfig
from tutornb.service.connections import ChatConnection, FrameSink
from tutornb.service.tutor_service import (
    ExportFile,
    NotebookAnswer,
    StatusAction,
    TutorService,
    check_session_id,
)

__all__ = [
    "ChatConnection",
    "ExportFile",
    "FrameSink",
    "NotebookAnswer",
    "ServiceConfig",
    "StatusAction",
    "TutorService",
    "check_session_id",
]
