"""The tutornb Jupyter server extension: configuration, the service's lifetime, and the route
table."""

from __future__ import annotations

import atexit
import gc
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, Unicode

from tutornb.errors import InvalidPolicy, TutorNBError
from tutornb.htmlpolicy import SANITIZER_POLICY
from tutornb.paths import (
    EXCHANGE_DIR_ENV,
    KERNEL_TOKEN_ENV,
    ROOT_DIR_ENV,
    SERVER_URL_ENV,
    STORE_DIR_ENV,
    TUTOR_ENV,
    TUTOR_OPTIONS_ENV,
    resolve_store_dir,
)
from tutornb.server.adminpolicy import admin_first
from tutornb.server.base import OWNER_MODE_SETTING, is_shared
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
from tutornb.server.kernelask import KERNEL_TOKEN_SETTING, KernelAskHandler, loopback_url
from tutornb.server.lifetime import OPENER_SETTING, ServiceOpener
from tutornb.server.storeguard import install_store_guard
from tutornb.version import __version__

if TYPE_CHECKING:
    from tutornb.hublink import HubLink
    from tutornb.service import TutorService

#: Every route, as the OpenAPI document spells it (``{session_id}`` is a path parameter). Order
#: matters: ``/sessions/import`` before ``/sessions/{session_id}``, and the JSON 404 catch-all last.
ROUTES: list[tuple[str, type[Any]]] = [
    ("/status", StatusHandler),
    ("/sessions", SessionsHandler),
    ("/sessions/import", ImportHandler),
    ("/kernel/ask", KernelAskHandler),
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
            '{"solutions": "never", "hints": true}); see tutornb.course.metadata.TutoringPolicy. On a '
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
    hub_service_url = Unicode(
        "",
        config=True,
        help=(
            "URL of the tutornb-hub JupyterHub service as this server reaches it (e.g. "
            "http://127.0.0.1:8081/services/tutornb/ or the hub's internal URL on Kubernetes). Set: "
            "%tutor share sends reports there, the openai tutor calls the model through it, with "
            "this server's JUPYTERHUB_API_TOKEN (which kernels do not get). Empty: no service."
        ),
    )
    hub_course_id = Unicode(
        "", config=True, help="The course whose token budget this server's model calls count against."
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

    _opener: ServiceOpener | None = None
    _hub_link: HubLink | None = None
    _expiry_timer: PeriodicCallback | None = None

    @property
    def service(self) -> TutorService | None:
        """The service once a request opened it (None before, and after a failure or shutdown)."""
        return self._opener.service if self._opener is not None else None

    def _resolved_store_dir(self, root: Path) -> Path:
        return resolve_store_dir(root, explicit=self.store_dir or None)

    def _configured_store_dir(self, root: Path) -> Path:
        """The store as named in the configuration, symlinks not followed (for the store guard)."""
        if self.store_dir:
            return Path(os.path.normpath(Path(self.store_dir).expanduser().absolute()))
        return resolve_store_dir(root)

    def initialize_settings(self) -> None:
        """Only the store's path, the environment kernels inherit and the store guard: the service
        (store, tutor, pydantic, renderer) opens on the first tutornb request (see lifetime.py)."""
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
        # Never the tutor's options (a model's API key) or the policy: a kernel's environment is the
        # learner's to read and change. %tutor ask asks this server instead (see kernelask), with a
        # token good for that route only; without this server a kernel tutors as its learner set up.
        for name in (TUTOR_ENV, TUTOR_OPTIONS_ENV):
            os.environ.pop(name, None)
        os.environ[KERNEL_TOKEN_ENV] = self.settings[KERNEL_TOKEN_SETTING] = secrets.token_urlsafe(32)
        os.environ.pop(SERVER_URL_ENV, None)  # set once the port is known (_start_jupyter_server_extension)
        # On a hub with the tutornb-hub service, kernels reach it through this server's relay.
        self._link_hub_service()
        # ... and share progress reports into the same exchange folder (%tutor share).
        if self.exchange_dir:
            os.environ[EXCHANGE_DIR_ENV] = str(Path(self.exchange_dir).expanduser().resolve())
        else:
            os.environ.pop(EXCHANGE_DIR_ENV, None)
        self._opener = ServiceOpener(lambda: self._open_service(root, store_dir), self.log)
        self.settings[OPENER_SETTING] = self._opener
        self.settings[OWNER_MODE_SETTING] = self.owner_mode
        # jupyter-server's own file routes must never serve or change the store (see storeguard).
        install_store_guard(self.serverapp, root, store_names)
        interval_ms = max(1.0, self.expiry_check_minutes) * 60_000
        self._expiry_timer = PeriodicCallback(self._expire_idle, interval_ms)
        self._expiry_timer.start()
        # jupyter-server runs stop_extension on SIGTERM (how JupyterHub stops a server), but a
        # SIGINT without a terminal ends its loop with KeyboardInterrupt and skips it: the
        # sessions open in a socket must still be paused and the store closed on the way out.
        atexit.register(self._close_service)
        if self.freeze_gc:
            IOLoop.current().call_later(2.0, _freeze_startup_objects)

    def _open_service(self, root: Path, store_dir: Path) -> TutorService:
        from tutornb.course.policy import PolicyError
        from tutornb.service import ServiceConfig, TutorService

        try:
            tutor_options = self._checked_tutor_options()
        except PolicyError as exc:
            raise InvalidPolicy(str(exc)) from None
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
        service = TutorService.open(
            root_dir=root,
            store_dir=store_dir,
            tutor=self.tutor,
            tutor_options=tutor_options,
            config=config,
            quota_bytes=self.quota_bytes,
            logger=self.log,
        )
        self.log.info("tutornb %s: store ready, tutor %r", __version__, self.tutor)
        self._expire_with(service)
        return service

    def _tutor_options(self) -> dict[str, Any]:
        """The tutor's options with the server's policy override as ``policy`` (it wins over the
        course's)."""
        options = dict(self.tutor_options)
        policy = admin_first(dict(self.policy), self._command_line_policy())
        if policy:
            options["policy"] = policy
        return options

    def _command_line_policy(self) -> dict[str, Any]:
        cli = getattr(self.serverapp, "cli_config", None) or {}
        policy = cli.get("TutorNBApp", {}).get("policy") if hasattr(cli, "get") else None
        return dict(policy) if isinstance(policy, dict) else {}

    def _link_hub_service(self) -> None:
        """On a hub with the tutornb-hub service: kernels call it through this server's relay with a
        key good for nothing else, and the hub token is kept out of every kernel's environment.
        Imported only on a hub (the server starts light elsewhere)."""
        if not self.hub_service_url:
            return
        from tutornb.hublink import (
            RELAY_KEY_ENV,
            RELAY_URL_ENV,
            HubLink,
            keep_token_from_kernels,
            use_server_link,
        )
        from tutornb.server.hubrelay import HUB_LINK_SETTING

        assert self.serverapp is not None
        self._hub_link = link = HubLink.create(self.hub_service_url, self.hub_course_id)
        if link is None:
            os.environ.pop(RELAY_URL_ENV, None)
            os.environ.pop(RELAY_KEY_ENV, None)
            self.log.warning("tutornb: hub_service_url is set but there is no JUPYTERHUB_API_TOKEN")
            return
        self.settings[HUB_LINK_SETTING] = link
        use_server_link(link)
        os.environ[RELAY_URL_ENV] = f"{self.serverapp.connection_url.rstrip('/')}/{self.name}/api/hub/"
        os.environ[RELAY_KEY_ENV] = link.relay_key
        keep_token_from_kernels(self.serverapp.kernel_manager)

    def _server_tutor_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The server's own tutor calls the hub service with the hub token (when one is set)."""
        link = self._hub_link
        if link is None or self.tutor != "openai":
            return options
        return link.server_tutor_options(options)

    def _checked_tutor_options(self) -> dict[str, Any]:
        """:meth:`_tutor_options`; raises :class:`PolicyError` when the policy does not fit the
        policy model: tutornb then does not start rather than tutor under a policy the admin did
        not set."""
        from tutornb.course.policy import effective_policy

        options = self._tutor_options()
        if "policy" in options:
            effective_policy(override=options["policy"])
        return self._server_tutor_options(options)

    def _shared(self) -> bool:
        assert self.serverapp is not None
        settings = {"identity_provider": getattr(self.serverapp, "identity_provider", None)}
        return is_shared(settings, self.owner_mode)

    def initialize_handlers(self) -> None:
        if self._hub_link is not None:  # only on a hub with the service configured
            from tutornb.server.hubrelay import relay_routes

            self.handlers.extend(relay_routes(self.name))
        self.handlers.extend(route_table(self.name))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Tells the kernels started from now on where to ask (the port is bound by now)."""
        url = loopback_url(serverapp)
        if url is not None:
            os.environ[SERVER_URL_ENV] = url

    def _expire_idle(self) -> None:
        """The periodic check: only a service some request opened (opening one for it would load
        everything on a server whose learner never opened the tutor)."""
        if self.service is not None:
            self._expire_with(self.service)

    def _expire_with(self, service: TutorService) -> None:
        try:
            closed = service.expire_idle()
        except TutorNBError as exc:
            self.log.warning("tutornb: expiry check failed (%s)", exc.code)
            return
        if closed:
            self.log.info("tutornb: closed %d idle session(s)", len(closed))

    def _close_service(self) -> None:
        """Pauses the sessions still open in a socket and closes the store (once)."""
        service = self._opener.close() if self._opener is not None else None
        if service is not None:
            service.close()
            self.log.info("tutornb: stopped; open sessions paused")

    async def stop_extension(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.stop()
            self._expiry_timer = None
        atexit.unregister(self._close_service)
        self._close_service()
