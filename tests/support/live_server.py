"""The one launcher of a real Jupyter server for tests and benchmarks: ``jupyter server`` (SIGKILL
trials, a captured server log, schemathesis over real HTTP) or ``jupyter lab`` (the browser tests in
tests/e2e, ``app="lab"``), with tutornb on, in a subprocess.

Everything lives in one temp folder: HOME, the ``JUPYTER_*`` dirs, IPYTHONDIR, the server root (with
the store in its default place, ``<root>/.tutornb``) and the log. The server listens on 127.0.0.1
only, on a free port, with its own token. A test tutor can be registered through the real
``tutornb.tutors`` entry-point group (a ``.dist-info`` folder on the subprocess's ``PYTHONPATH``),
the way a third-party package would.

The module name is unique on purpose: test folders are not packages, and the crash test and the
bench scripts import it as ``tests.support.live_server`` (run from the repository root).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
#: Lines that mean an exception escaped somewhere in the server.
UNHANDLED_MARKERS = (
    "Traceback",
    "Uncaught exception",
    "tutornb: unexpected",
    "Exception in callback",
)

#: Extensions installed beside tutornb in the test environment, switched off for faster starts.
OTHER_EXTENSIONS = ("jupyter_lsp", "jupyter_server_terminals", "jupyterlab", "notebook_shim")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_test_tutor(site: Path, name: str, module_file: Path, factory: str) -> None:
    """Registers ``module_file``'s ``factory`` as tutor ``name`` in the ``tutornb.tutors`` group.

    ``site`` becomes a folder on the server's ``PYTHONPATH`` holding the module and a minimal
    ``.dist-info`` whose ``entry_points.txt`` declares the tutor: exactly what ``pip install`` of a
    package with that entry point leaves behind, so tutornb's loader finds it the ordinary way.
    """
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(module_file, site / module_file.name)
    dist = site / f"tutornb_test_tutor_{name.replace('-', '_')}-0.0.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: tutornb-test-tutor-{name}\nVersion: 0.0.0\n",
        encoding="utf-8",
    )
    (dist / "entry_points.txt").write_text(
        f"[tutornb.tutors]\n{name} = {module_file.stem}:{factory}\n", encoding="utf-8"
    )


@dataclass
class LiveServer:
    """One ``jupyter server`` process; ``start``/``kill``/``stop`` may be called repeatedly."""

    base: Path
    tutornb: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    python_path: list[Path] = field(default_factory=list)
    #: More ``jupyter server`` options, e.g. ``--TutorNBApp.max_concurrent_turns=2``.
    extra_args: list[str] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    #: Load only tutornb (faster restarts); False keeps every installed extension on.
    only_tutornb: bool = True
    #: ``"server"`` (``jupyter server``) or ``"lab"`` (``jupyter lab``, for a real browser).
    app: str = "server"
    #: More environment variables for the server process.
    extra_env: dict[str, str] = field(default_factory=dict)
    #: JupyterLab settings written before start (``{plugin settings file: values}``), for ``app="lab"``.
    lab_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(exist_ok=True)

    # -- locations --------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def store_dir(self) -> Path:
        return self.root / ".tutornb"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.url}tutornb/api/"

    def ws_url(self, session_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/tutornb/api/sessions/{session_id}/chat"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def client(self, timeout: float = 30.0) -> httpx.Client:
        """An authenticated client whose base URL is ``.../tutornb/api/``."""
        return httpx.Client(base_url=self.api_url, headers=self.auth, timeout=timeout)

    def api(self, timeout: float = 30.0) -> httpx.Client:
        """An authenticated client whose base URL is the server's root (any Jupyter API)."""
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=timeout)

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}{path}?token={self.token}"

    # -- lifetime ---------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JUPYTER", "TUTORNB_", "JPY_", "PYTHONPATH"))
        }
        dirs = {
            "HOME": self.home,
            "JUPYTER_CONFIG_DIR": self.home / "jupyter-config",
            "JUPYTER_DATA_DIR": self.home / "jupyter-data",
            "JUPYTER_RUNTIME_DIR": self.home / "jupyter-runtime",
            "JUPYTERLAB_SETTINGS_DIR": self.home / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.home / "lab-workspaces",
            "IPYTHONDIR": self.home / "ipython",
        }
        for name, folder in dirs.items():
            folder.mkdir(parents=True, exist_ok=True)
            env[name] = str(folder)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        # A virtualenv on system site-packages sees the base interpreter's packages but not their
        # data files (JupyterLab's prebuilt extensions: ipywidgets, anywidget): name both prefixes.
        shares = dict.fromkeys(Path(prefix) / "share" / "jupyter" for prefix in (sys.prefix, sys.base_prefix))
        env["JUPYTER_PATH"] = os.pathsep.join(str(share) for share in shares if share.is_dir())
        if self.python_path:
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.python_path)
        env.update(self.extra_env)
        # Kernels run this interpreter (and so this checkout's tutornb), never whatever "python3"
        # kernelspec the machine has first on its data path (a base interpreter with another copy).
        kernel_dir = dirs["JUPYTER_DATA_DIR"] / "kernels" / "python3"
        kernel_dir.mkdir(parents=True, exist_ok=True)
        kernel_spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        (kernel_dir / "kernel.json").write_text(json.dumps(kernel_spec), encoding="utf-8")
        for name, values in self.lab_settings.items():
            target = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values), encoding="utf-8")
        extensions = {"tutornb": True}
        if self.only_tutornb:
            extensions.update(dict.fromkeys(OTHER_EXTENSIONS, False))
        config = {
            "ServerApp": {"jpserver_extensions": extensions, **self.server},
            "TutorNBApp": dict(self.tutornb),
        }
        (dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(
            json.dumps(config), encoding="utf-8"
        )
        return env

    def start(self, timeout: float = 60.0, *, keep_port: bool = False) -> None:
        """Starts the server; ``keep_port`` restarts it where open pages expect it (a browser test
        of what a page does when its server comes back)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        # Otherwise a fresh port per start: a killed server's port may linger in TIME_WAIT.
        if not (keep_port and self.port):
            self.port = free_port()
        # ``python -m jupyter server`` would run whichever ``jupyter-server`` script comes first on PATH
        # (possibly another Python, with another tutornb): run the app's module with this Python.
        module = {"server": "jupyter_server", "lab": "jupyterlab"}[self.app]
        command = [
            sys.executable, "-m", module, "--no-browser",
            f"--ServerApp.token={self.token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
        ]  # fmt: skip
        if self.app == "lab":
            command.append("--LabApp.news_url=")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        command.extend(self.extra_args)
        env = self._env()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        with httpx.Client(headers=self.auth, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"jupyter server exited early:\n{self.log_tail()}")
                try:
                    # Jupyter's own status: extensions are loaded before the server listens, and a
                    # tutornb that refused its store (503) is still a server that started.
                    if client.get(f"{self.url}api/status").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"jupyter server did not start in {timeout:.0f}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no atexit (a power cut, as far as the store
        knows)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        if process is not None:
            process.wait(10)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- log --------------------------------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = "\n".join(self.log_text().splitlines()[-lines:])
        return text.replace(self.token, "<token>")

    def unhandled(self) -> list[str]:
        """Log lines that show an exception escaped a handler or a callback."""
        return [
            line
            for line in self.log_text().splitlines()
            if any(marker in line for marker in UNHANDLED_MARKERS)
        ]

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
