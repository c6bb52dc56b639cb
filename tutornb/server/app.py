"""The tutornb Jupyter server extension: configuration, the service's lifetime, and the route
table."""

from __future__ import annotations

import atexit
import gc
import json
import os
import re
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, Unicode

from tutornb.errors import TutorNBError
from tutornb.htmlpolicy import SANITIZER_POLICY
from tutornb.paths import (
    EXCHANGE_DIR_ENV,
    ROOT_DIR_ENV,
    STORE_DIR_ENV,
    TUTOR_ENV,
    TUTOR_OPTIONS_ENV,
    resolve_store_dir,
)
from tutornb.policy import PolicyError, effective_policy
from tutornb.server.base import (
    OWNER_MODE_SETTING,
    SERVICE_SETTING,
    STARTUP_ERROR_SETTING,
    is_shared,
)
from tutornb.server.chat import ChatSocketHandler
from tutornb.server.handlers import (
    CloseHandler,
    ExportHandler,
    ImportHandler,
    MessagesHandler,
    NotFoundHandler,
    PauseHandler,
    ResumeHandler,
    SessionHandler,
    SessionsHandler,
    StatusHandler,
)
from tutornb.server.storeguard import install_store_guard
from tutornb.service import ServiceConfig, TutorService
from tutornb.version import __version__

#: Every route, as the OpenAPI document spells it (``{session_id}`` is a path parameter). Order
#: matters: ``/sessions/import`` before ``/sessions/{session_id}``, and the JSON 404 catch-all last.
ROUTES: list[tuple[str, type[Any]]] = [
    ("/status", StatusHandler),
    ("/sessions", SessionsHandler),
    ("/sessions/import", ImportHandler),
    ("/sessions/{session_id}", SessionHandler),
    ("/sessions/{session_id}/messages", MessagesHandler),
    ("/sessions/{session_id}/pause", PauseHandler),
    ("/sessions/{session_id}/resume", ResumeHandler),
    ("/sessions/{session_id}/close", CloseHandler),
    ("/sessions/{session_id}/export", ExportHandler),
    ("/sessions/{session_id}/chat", ChatSocketHandler),
]
#: Path parameters match any single segment; the service validates ids, so a malformed id gets a
#: clear ``INVALID_REQUEST`` rather than falling through to the catch-all.
_PARAM = re.compile(r"\{([a-z_]+)\}")


def route_pattern(name: str, template: str) -> str:
    return rf"/{name}/api" + _PARAM.sub(r"(?P<\1>[^/]+)", template)


def route_table(name: str) -> list[tuple[str, type[Any]]]:
    table = [(route_pattern(name, template), handler) for template, handler in ROUTES]
    table.append((rf"/{name}/api(?:/.*)?", NotFoundHandler))
    return table


def _freeze_startup_objects() -> None:
    """Collect once, then freeze: modules, classes and config are permanent anyway."""
    gc.collect()
    gc.freeze()


class TutorNBApp(ExtensionApp):
    name = "tutornb"
    load_other_extensions = True

    store_dir = Unicode(
        "",
        config=True,
        help="Store folder. Default: $TUTORNB_STORE_DIR, else <root_dir>/.tutornb.",
    )
    tutor = Unicode("course", config=True, help="Tutor entry point name (group 'tutornb.tutors').")
    tutor_options = Dict(config=True, help="Options passed to the tutor factory.")
    policy = Dict(
        config=True,
        help=(
            "Tutoring policy that overrides every course's, field by field (e.g. "
            '{"solutions": "never", "hints": true}); see tutornb.coursemeta.TutoringPolicy. On a '
            "hub this is the admin's to set, not the learner's. Passed to the tutor as its "
            "'policy' option."
        ),
    )
    exchange_dir = Unicode(
        "",
        config=True,
        help=(
            "Folder where learners' `%tutor share` drops their progress reports (one file per "
            "learner and course, like nbgrader's exchange). Empty: sharing is off."
        ),
    )
    session_expiry_days = Float(
        30.0, config=True, help="Sessions idle longer than this are closed (0 disables expiry)."
    )
    max_message_chars = Int(16_000, config=True, help="Longest learner message, in characters.")
    quota_bytes = Int(200 * 1024 * 1024, config=True, help="Store size limit in bytes.")
    rate_limit_per_minute = Int(
        120, config=True, help="Learner messages a minute per session (0 disables the limit)."
    )
    rate_limit_burst = Int(20, config=True, help="Messages a session may send at once.")
    max_concurrent_turns = Int(
        8,
        config=True,
        help="Tutor turns running at once (raise it for a model-backed tutor).",
    )
    max_sockets_per_session = Int(
        20, config=True, help="Chat sockets (and panels) open at once on one session (0: no cap)."
    )
    max_sockets_per_owner = Int(
        60, config=True, help="Chat sockets (and panels) open at once for one owner (0: no cap)."
    )
    max_socket_pending_bytes = Int(
        128 * 1024,
        config=True,
        help=(
            "Bytes a chat socket may have waiting to be sent; a client that stops reading is closed "
            "(1008) past it, and the memory goes back to the system."
        ),
    )
    recap_after_seconds = Float(
        300.0,
        config=True,
        help=(
            "A session the learner resumes this soon (seconds) after pausing it gets no 'where we "
            "left off' recap; after longer, after the page went away or a restart, it does."
        ),
    )
    owner_quota_bytes = Int(
        50 * 1024 * 1024,
        config=True,
        help=(
            "When several users share the server (owner_mode 'user', or 'auto' with a custom or hub "
            "identity provider): bytes one user's sessions may take of the store (0: no per-user "
            "limit). A single-user server has only quota_bytes."
        ),
    )
    owner_mode = CaselessStrEnum(
        ["auto", "single", "user"],
        default_value="auto",
        config=True,
        help=(
            "Who owns a session: 'single' = the server's one user (every browser sees the same "
            "history); 'user' = the identity provider's username; 'auto' = 'single' with "
            "jupyter-server's built-in identity providers, else 'user'."
        ),
    )
    expiry_check_minutes = Float(60.0, config=True, help="How often idle sessions are checked for expiry.")
    freeze_gc = Bool(
        True,
        config=True,
        help=(
            "Once the server has started, exempt the objects loaded so far from the garbage "
            "collector's full passes (gc.freeze). A full pass over a whole Jupyter server takes "
            "~100+ ms and stalls every chat acknowledgement behind it; afterwards it scans only "
            "what was allocated since. False leaves the process's collector untouched."
        ),
    )

    service: TutorService | None = None
    _expiry_timer: PeriodicCallback | None = None

    def _resolved_store_dir(self, root: Path) -> Path:
        return resolve_store_dir(root, explicit=self.store_dir or None)

    def _configured_store_dir(self, root: Path) -> Path:
        """The store as named in the configuration, symlinks not followed (for the store guard)."""
        if self.store_dir:
            return Path(os.path.normpath(Path(self.store_dir).expanduser().absolute()))
        return resolve_store_dir(root)

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        # The Tutor sidebar (JupyterLab extension) filters HTML with THE allowlist, via the page config.
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config["tutornbSanitizerPolicy"] = SANITIZER_POLICY
        root = Path(self.serverapp.root_dir).expanduser().resolve()
        store_dir = self._resolved_store_dir(root)
        # Before the environment below names the resolved folder.
        store_names = self._configured_store_dir(root)
        # Kernels started by this server inherit these, so the widget and magics use the same store.
        os.environ[ROOT_DIR_ENV] = str(root)
        os.environ[STORE_DIR_ENV] = str(store_dir)
        # ... and answer with the same tutor (%tutor ask, the panel's kernel pipe).
        os.environ[TUTOR_ENV] = self.tutor
        try:
            tutor_options = self._tutor_options()
        except PolicyError as exc:
            self.log.error("tutornb could not start (INVALID_POLICY): %s", exc)
            self.settings[STARTUP_ERROR_SETTING] = "INVALID_POLICY"
            self.settings[SERVICE_SETTING] = None
            self.settings[OWNER_MODE_SETTING] = self.owner_mode
            install_store_guard(self.serverapp, root, store_dir)
            return
        os.environ[TUTOR_OPTIONS_ENV] = json.dumps(tutor_options)
        # ... and share progress reports into the same exchange folder (%tutor share).
        if self.exchange_dir:
            os.environ[EXCHANGE_DIR_ENV] = str(Path(self.exchange_dir).expanduser().resolve())
        else:
            os.environ.pop(EXCHANGE_DIR_ENV, None)
        config = ServiceConfig(
            max_message_chars=self.max_message_chars,
            session_expiry_days=self.session_expiry_days,
            rate_limit_per_minute=self.rate_limit_per_minute,
            rate_limit_burst=self.rate_limit_burst,
            max_concurrent_turns=self.max_concurrent_turns,
            max_sockets_per_session=self.max_sockets_per_session,
            max_sockets_per_owner=self.max_sockets_per_owner,
            max_socket_pending_bytes=self.max_socket_pending_bytes,
            owner_quota_bytes=self.owner_quota_bytes if self._shared() else 0,
            recap_after_seconds=self.recap_after_seconds,
        )
        try:
            self.service = TutorService.open(
                root_dir=root,
                store_dir=store_dir,
                tutor=self.tutor,
                tutor_options=tutor_options,
                config=config,
                quota_bytes=self.quota_bytes,
                logger=self.log,
            )
        except (TutorNBError, OSError) as exc:
            # The server keeps running; tutornb routes answer 503 with the code until this is fixed.
            # The log names the error, never a traceback or the absolute path of the store.
            code = exc.code if isinstance(exc, TutorNBError) else type(exc).__name__
            detail = exc.message if isinstance(exc, TutorNBError) else (exc.strerror or "I/O error")
            self.log.error("tutornb could not start (%s): %s", code, detail)
            self.service = None
            self.settings[STARTUP_ERROR_SETTING] = code
        self.settings[SERVICE_SETTING] = self.service
        self.settings[OWNER_MODE_SETTING] = self.owner_mode
        # jupyter-server's own file routes must never serve or change the store (see storeguard).
        install_store_guard(self.serverapp, root, store_names)
        if self.service is not None:
            self._expire_idle()
            interval_ms = max(1.0, self.expiry_check_minutes) * 60_000
            self._expiry_timer = PeriodicCallback(self._expire_idle, interval_ms)
            self._expiry_timer.start()
            self.log.info("tutornb %s: store ready, tutor %r", __version__, self.tutor)
            # jupyter-server runs stop_extension on SIGTERM (how JupyterHub stops a server), but a
            # SIGINT without a terminal ends its loop with KeyboardInterrupt and skips it: the
            # sessions open in a socket must still be paused and the store closed on the way out.
            atexit.register(self._close_service)
            if self.freeze_gc:
                IOLoop.current().call_later(2.0, _freeze_startup_objects)

    def _tutor_options(self) -> dict[str, Any]:
        """The tutor's options with the server's policy override as ``policy`` (it wins over the
        course's). Raises :class:`PolicyError` when the override does not fit the policy model:
        tutornb then does not start rather than tutor under a policy the admin did not set."""
        options = dict(self.tutor_options)
        if self.policy:
            effective_policy(override=dict(self.policy))
            options["policy"] = dict(self.policy)
        return options

    def _shared(self) -> bool:
        assert self.serverapp is not None
        settings = {"identity_provider": getattr(self.serverapp, "identity_provider", None)}
        return is_shared(settings, self.owner_mode)

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table(self.name))

    def _expire_idle(self) -> None:
        if self.service is None:
            return
        try:
            closed = self.service.expire_idle()
        except TutorNBError as exc:
            self.log.warning("tutornb: expiry check failed (%s)", exc.code)
            return
        if closed:
            self.log.info("tutornb: closed %d idle session(s)", len(closed))

    def _close_service(self) -> None:
        """Pauses the sessions still open in a socket and closes the store (once)."""
        service, self.service = self.service, None
        if service is not None:
            service.close()
            self.log.info("tutornb: stopped; open sessions paused")

    async def stop_extension(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.stop()
            self._expiry_timer = None
        atexit.unregister(self._close_service)
        self._close_service()
