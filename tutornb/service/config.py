"""The service's settings (``TutorNBApp`` traits on the server, defaults in a kernel or the CLI).

Kept apart from :mod:`tutornb.service.tutor_service` so the service's parts (connections, intake,
the turn queue) read their limits from one definition without importing the service itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceConfig:
    max_message_chars: int = 16_000
    session_expiry_days: float = 30.0
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 20
    #: Tutor turns running at once across all sessions. Turns of the offline tutor are CPU and fsync
    #: work on the server's event loop: a bound keeps acknowledgements prompt under load. Raise it
    #: for a model-backed tutor whose turns mostly wait on the network.
    max_concurrent_turns: int = 8
    #: Chat connections (sockets, panels) at once on one session, and for one owner across all
    #: their sessions: each costs a write buffer, so an unbounded number is a memory leak on demand.
    #: 0 disables a cap.
    max_sockets_per_session: int = 20
    max_sockets_per_owner: int = 60
    #: Bytes a socket may have waiting to be sent before it is closed (1008): a client that stops
    #: reading must not grow the server without bound. A single larger frame (a long restore
    #: payload) is still sent when the queue is below the limit.
    max_socket_pending_bytes: int = 128 * 1024
    #: Bytes one owner's sessions may take (0: no limit beyond the store's quota). Set when several
    #: users share a server, so one of them cannot fill the store for everyone.
    owner_quota_bytes: int = 0
    #: A session resumed this soon (seconds) after the learner paused it gets no "where we left off"
    #: recap: they are still looking at the conversation. After a longer pause, an automatic pause
    #: (the page went away) or a server restart, the recap is shown.
    recap_after_seconds: float = 300.0
