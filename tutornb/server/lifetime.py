"""The service's lifetime on the server: opened on the first tutornb request, not at server start.

A learner's server may never see its learner open the tutor; on a hub every such server would
otherwise carry the service, the store, the tutor, pydantic and the Markdown renderer from its first
second. So the extension's start registers its routes and the store's path (and the store guard),
and :class:`ServiceOpener` builds the rest the first time a handler asks for the service. A failure
to open is remembered: every tutornb route then answers 503 with its code until the server is
restarted, exactly as when the failure happened at start.

Opening reads the store and builds the tutor (a second or so): a request that needs the service
first awaits :meth:`ServiceOpener.opened`, which opens it on a worker thread so the server's event
loop keeps serving everything else meanwhile; requests arriving during the opening wait for the same
one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tutornb.errors import StoreError, TutorNBError

if TYPE_CHECKING:
    from tutornb.service import TutorService

OPENER_SETTING = "tutornb_service_opener"


class ServiceOpener:
    """Opens the service once, on the first :meth:`get`; remembers a failure's code."""

    def __init__(self, open_service: Callable[[], TutorService], log: logging.Logger) -> None:
        self._open = open_service
        self._log = log
        self._lock = threading.Lock()
        self._opening: asyncio.Future[None] | None = None
        self.service: TutorService | None = None
        self.error: str | None = None

    def _open_once(self) -> None:
        with self._lock:
            if self.service is not None or self.error is not None:
                return
            try:
                self.service = self._open()
            except (TutorNBError, OSError) as exc:
                # The log names the error, never a traceback or the absolute path of the store.
                self.error = exc.code if isinstance(exc, TutorNBError) else type(exc).__name__
                detail = exc.message if isinstance(exc, TutorNBError) else (exc.strerror or "I/O error")
                self._log.error("tutornb could not start (%s): %s", self.error, detail)

    async def opened(self) -> None:
        """Opens the service, once, on a worker thread; returns when it is open or has failed."""
        if self.service is not None or self.error is not None:
            return
        if self._opening is None:
            self._opening = asyncio.ensure_future(asyncio.to_thread(self._open_once))
        await asyncio.shield(self._opening)

    def get(self) -> TutorService:
        """The open service (opening it here, on this thread, if no request has yet)."""
        self._open_once()
        if self.service is None:
            raise StoreError(f"tutornb could not start ({self.error}); see the server log.")
        return self.service

    def close(self) -> TutorService | None:
        """Forgets the open service (for the caller to close); later calls to :meth:`get` refuse."""
        service, self.service = self.service, None
        if self.error is None:
            self.error = "STOPPED"
        return service


def service_opener(settings: dict[str, Any]) -> ServiceOpener:
    opener = settings.get(OPENER_SETTING)
    if not isinstance(opener, ServiceOpener):
        raise StoreError("tutornb could not start (STORE_UNAVAILABLE); see the server log.")
    return opener
