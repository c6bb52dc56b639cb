"""The kernel's one :class:`~tutornb.service.TutorService` and the event loop it runs on.

The ``%tutor`` magics and the chat panel's comm transport share this runtime (see
:class:`KernelRuntime` for why its loop is a thread of its own); it opens the service lazily, on the
store and tutor the server exported to the kernel's environment.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tutornb.kernel.context import find_notebook
from tutornb.paths import default_owner, resolve_root_dir, tutor_from_environment

if TYPE_CHECKING:
    from tutornb.service import ChatConnection, TutorService

T = TypeVar("T")


class KernelRuntime:
    """The kernel's one :class:`TutorService`, driven by one event loop on a thread of its own.

    Why not the kernel's own asyncio loop: a cell running ``%tutor ask`` blocks that loop until the
    turn is done, so a turn scheduled on it could never run. A dedicated loop lets the magics wait
    for a result and lets the panel's comm handler return at once, and since every service call
    (sync or async) runs on that one thread, the service never sees two threads. Frames go back
    through the widget comm, whose sends are thread-safe (ipykernel hands them to its IOPub thread).
    """

    def __init__(self, service_factory: Callable[[], TutorService]) -> None:
        self._factory = service_factory
        self._service: TutorService | None = None
        #: Chat connections of live panels: closing the runtime disconnects them, which pauses their
        #: sessions like a closed browser tab would.
        self.connections: set[ChatConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="tutornb-kernel-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop.is_running()

    @property
    def service(self) -> TutorService:
        """The service, opened lazily on the loop thread's first use (opening reads the store)."""
        if self._service is None:
            self._service = self._factory()
        return self._service

    def submit(self, work: Callable[[TutorService], Awaitable[T] | T]) -> concurrent.futures.Future[T]:
        """Runs ``work(service)`` on the loop thread; awaits it when it returns an awaitable."""

        async def runner() -> T:
            result = work(self.service)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                return await result  # type: ignore[no-any-return]
            return result  # type: ignore[return-value]

        return asyncio.run_coroutine_threadsafe(runner(), self._loop)

    def call(self, work: Callable[[TutorService], Awaitable[T] | T], timeout: float = 120.0) -> T:
        """Like :meth:`submit` but waits for the result (or re-raises the domain error) in this
        thread.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("KernelRuntime.call from the loop thread would deadlock; use submit")
        return self.submit(work).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def close(self) -> None:
        if self._service is not None:
            service, self._service = self._service, None
            try:
                asyncio.run_coroutine_threadsafe(
                    _close_service(service, self.connections), self._loop
                ).result(10)
            except Exception as exc:  # closing at exit must never raise
                logging.getLogger("tutornb").debug("closing the kernel service: %s", exc)
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


async def _close_service(service: TutorService, connections: set[ChatConnection]) -> None:
    for conn in list(connections):
        try:
            await service.disconnect(conn)
        except Exception as exc:  # the store may already be failing; closing goes on
            logging.getLogger("tutornb").debug("disconnect at close: %s", type(exc).__name__)
    connections.clear()
    service.close()


_runtime: KernelRuntime | None = None
_runtime_lock = threading.Lock()


def _open_kernel_service() -> TutorService:
    from tutornb.service import TutorService

    notebook = find_notebook()
    root = resolve_root_dir(start=notebook.parent if notebook else Path.cwd())
    tutor, options = tutor_from_environment()
    return TutorService.open(root_dir=root, tutor=tutor, tutor_options=options)


def kernel_runtime() -> KernelRuntime:
    """The process-wide runtime (created on first use, closed at interpreter exit)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = KernelRuntime(_open_kernel_service)
            atexit.register(_runtime.close)
        return _runtime


def reset_kernel_runtime() -> None:
    """Closes the runtime (tests switch stores between cases; a kernel never needs this)."""
    global _runtime
    with _runtime_lock:
        runtime, _runtime = _runtime, None
    if runtime is not None:
        runtime.close()


def kernel_owner() -> str:
    """Whom the kernel's sessions belong to: the same owner the server maps every browser to."""
    return default_owner()
