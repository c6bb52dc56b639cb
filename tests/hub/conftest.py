"""A real JupyterHub on loopback: configurable-http-proxy (npm), two users (ann, bo) on
SimpleLocalProcessSpawner, each with their own home (and so their own tutornb store), a shared
password, and one exchange folder for both.

Beside them, the ``tutornb-hub`` service (managed by the hub) with a course folder only it reads,
a loopback model that records the key each call carried, and three more users: learners cy (with a
server wired to the service and the openai tutor) and dee (token only), and ivy, who teaches
``python-foundations`` (group ``instructors-python-foundations``).

Skips locally when jupyterhub or the proxy is missing; fails in CI, where ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_core.paths import jupyter_config_path, jupyter_path

from tests.support.browser import IN_CI
from tests.support.live_server import free_port
from tests.support.model_server import ModelServer
from tutornb.hub.material import learner_copy

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "notebooks"
PROXY = REPO / "node_modules" / ".bin" / "configurable-http-proxy"

USERS = ("ann", "bo")
NOTEBOOK = "01_lists_and_loops.ipynb"
#: Users of the tutornb-hub service: cy gets a server; dee and ivy act with tokens only.
SERVICE_SERVERS = ("cy",)
SERVICE_USERS = ("cy", "dee", "ivy")
INSTRUCTOR = "ivy"
COURSE_ID = "python-foundations"
MODEL_KEY = "sk-tutornb-hub-test-model-key"
#: The exercise the service holds the solution of; learners' copies have none.
EXERCISE_ID = "lists-sum"
SOLUTION_MARKER = "SOLUTION-7f3a-total-equals-sum-of-numbers"
#: An exercise whose solution the service hands out on request.
OPEN_NOTEBOOK = "02_dictionaries.ipynb"
OPEN_EXERCISE_ID = "dicts-open"
OPEN_SOLUTION = "OPEN-SOLUTION-2b9c = {'apples': 3}"
PASSWORD = "tutornb-hub-test-password"
#: JupyterLab settings for a quiet UI (no news toasts, every cell in the DOM).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

CONFIG = """
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{base}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{base}/cookie_secret"
c.JupyterHub.pid_file = "{base}/hub.pid"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{base}/proxy.pid"
# Start both servers at once: the spawn request answers at once instead of waiting up to 10 s.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = "{password}"
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{base}/home/{{username}}"
c.Spawner.cmd = ["{singleuser}"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.args = ["--ServerApp.ip=127.0.0.1", "--TutorNBApp.exchange_dir={exchange}", "--LabApp.news_url="]
if {root}:
    c.Spawner.args.append("--allow-root")


def _per_user(name):
    return lambda spawner: "{base}/home/" + spawner.user.name + "/" + name


c.Spawner.environment = {{
    "JUPYTER_CONFIG_DIR": _per_user(".jupyter"),
    "JUPYTER_DATA_DIR": _per_user(".jupyter-data"),
    "JUPYTER_RUNTIME_DIR": _per_user(".jupyter-runtime"),
    "JUPYTERLAB_SETTINGS_DIR": _per_user(".lab-settings"),
    "JUPYTERLAB_WORKSPACES_DIR": _per_user(".lab-workspaces"),
    "IPYTHONDIR": _per_user(".ipython"),
    "JUPYTER_PLATFORM_DIRS": "1",
    "JUPYTER_PATH": "{jupyter_path}",
    "JUPYTER_CONFIG_PATH": "{jupyter_config_path}",
}}
c.JupyterHub.services = [
    {{"name": "tutornb-test", "api_token": "{service_token}"}},
    {{
        "name": "tutornb",
        "url": "http://127.0.0.1:{tutornb_port}",
        "command": ["{python}", "-m", "tutornb.hub", "--config", "{base}/tutornb-hub.json"],
        "environment": {{"TUTORNB_HUB_MODEL_API_KEY": "{model_key}"}},
        "oauth_no_confirm": True,
    }},
]
c.JupyterHub.load_groups = {{"instructors-{course}": {{"users": ["{instructor}"]}}}}
c.JupyterHub.load_roles = [
    {{
        "name": "tutornb-test",
        "scopes": ["admin:users", "admin:servers", "tokens", "read:users"],
        "services": ["tutornb-test"],
    }},
    # the service reads group membership (who teaches which course)
    {{"name": "tutornb-service", "scopes": ["read:groups", "read:users:name"], "services": ["tutornb"]}},
    # every user, and every user's server, may call the service
    {{"name": "user", "scopes": ["self", "access:services!service=tutornb"]}},
    {{
        "name": "server",
        "scopes": ["users:activity!user", "access:servers!server", "access:services!service=tutornb"],
    }},
]
"""


@dataclass
class Hub:
    base: Path
    url: str
    service_token: str
    exchange: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str]
    model: ModelServer
    tutornb_url: str = ""

    def service(self, user: str) -> httpx.Client:
        """A client of the tutornb-hub service through the proxy, with ``user``'s token."""
        return httpx.Client(
            base_url=f"{self.url}services/tutornb/",
            headers={"Authorization": f"token {self.tokens[user]}"},
            timeout=60,
        )

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}hub/api/",
            headers={"Authorization": f"token {self.service_token}"},
            timeout=60,
        )

    def as_user(self, token_of: str) -> httpx.Client:
        """A client through the proxy authenticated with ``token_of``'s API token."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"token {self.tokens[token_of]}"}, timeout=60
        )

    def login(self, user: str) -> httpx.Client:
        """A client logged in with the shared password: it holds the hub's cookies, like a browser."""
        client = httpx.Client(base_url=self.url, follow_redirects=True, timeout=60)
        page = client.get("hub/login")
        xsrf = client.cookies.get("_xsrf", path="/hub/") or ""
        response = client.post(
            "hub/login", data={"username": user, "password": PASSWORD, "_xsrf": xsrf}, follow_redirects=False
        )
        assert (page.status_code, response.status_code) == (200, 302), response.text[:300]
        return client

    def log_tail(self, lines: int = 80) -> str:
        text = (self.base / "hub.log").read_text(encoding="utf-8", errors="replace")
        for secret in (self.service_token, MODEL_KEY, *self.tokens.values()):
            text = text.replace(secret, "<token>")
        return "\n".join(text.splitlines()[-lines:])


def _prepare_home(home: Path) -> None:
    shutil.copytree(COURSE, home, ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints", "*.py"))
    config = home / ".jupyter"
    config.mkdir()
    # The extension is enabled by the installed jupyter-config; say it here too.
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"tutornb": True}}}), encoding="utf-8"
    )
    for name, values in LAB_SETTINGS.items():
        target = home / ".lab-settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")


def _with_exercise(name: str, exercise_id: str, solution: str, policy: str) -> dict[str, Any]:
    """A course notebook given one exercise (on its first section) with ``solution``."""
    notebook: dict[str, Any] = json.loads((COURSE / name).read_text(encoding="utf-8"))
    heading = next(
        line.lstrip("# ").strip()
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("## ")
    )
    notebook["metadata"]["tutornb"]["exercises"] = [
        {"id": exercise_id, "heading": heading, "hints": ["Start small."], "solution": solution}
    ]
    notebook["metadata"]["tutornb"]["policy"] = {"solutions": policy, "hints": True}
    return notebook


def _course_folders(base: Path, tutornb_port: int, model_url: str) -> None:
    """The instructor's copies (with the solutions: "hints only" in the lists notebook, "on request"
    in the dictionaries one) for the service, and the learners' copies (no solution) in cy's home,
    whose server is wired to the service."""
    notebooks = {
        NOTEBOOK: _with_exercise(NOTEBOOK, EXERCISE_ID, SOLUTION_MARKER, "never"),
        OPEN_NOTEBOOK: _with_exercise(OPEN_NOTEBOOK, OPEN_EXERCISE_ID, OPEN_SOLUTION, "on_request"),
    }
    course = base / "courses" / COURSE_ID
    course.mkdir(parents=True)
    for name, notebook in notebooks.items():
        (course / name).write_text(json.dumps(notebook), encoding="utf-8")
    (base / "tutornb-hub.json").write_text(
        json.dumps(
            {
                "data_dir": str(base / "tutornb-hub-data"),
                "courses_dir": str(base / "courses"),
                "model_base_url": model_url,
                "min_group_size": 2,
                "rate_limit_per_minute": 600,
                "rate_limit_burst": 50,
            }
        ),
        encoding="utf-8",
    )
    for user in SERVICE_SERVERS:
        home = base / "home" / user
        _prepare_home(home)
        for name, notebook in notebooks.items():
            (home / name).write_text(json.dumps(learner_copy(notebook)), encoding="utf-8")
        (home / ".jupyter" / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "ServerApp": {"jpserver_extensions": {"tutornb": True}},
                    "TutorNBApp": {
                        "hub_service_url": f"http://127.0.0.1:{tutornb_port}/services/tutornb/",
                        "hub_course_id": COURSE_ID,
                        "tutor": "openai",
                        "tutor_options": {"model": "test-model"},
                    },
                }
            ),
            encoding="utf-8",
        )


def _wait(check: object, what: str, hub_process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub_process.poll() is not None:
            raise RuntimeError(f"jupyterhub exited while waiting for {what}")
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"timed out waiting for {what}")


@pytest.fixture(scope="package")
def hub() -> Iterator[Hub]:
    singleuser = shutil.which("jupyterhub-singleuser", path=str(Path(sys.executable).parent))
    missing = [
        name
        for name, ok in (
            ("jupyterhub (pip)", singleuser is not None),
            ("configurable-http-proxy (npm)", PROXY.exists()),
        )
        if not ok
    ]
    if missing:
        message = f"{' and '.join(missing)} not installed (pip install jupyterhub; npm install)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="tutornb-hub-"))
    exchange = base / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)  # like nbgrader's exchange: everyone drops files in
    for user in USERS:
        _prepare_home(base / "home" / user)
    port, service_token, tutornb_port = free_port(), secrets.token_hex(16), free_port()
    model = ModelServer()
    _course_folders(base, tutornb_port, model.url)
    (base / "jupyterhub_config.py").write_text(
        CONFIG.format(
            port=port,
            hub_port=free_port(),
            proxy_api_port=free_port(),
            base=base,
            proxy=PROXY,
            password=PASSWORD,
            users={*USERS, *SERVICE_USERS},
            tutornb_port=tutornb_port,
            python=sys.executable,
            model_key=MODEL_KEY,
            course=COURSE_ID,
            instructor=INSTRUCTOR,
            singleuser=singleuser,
            exchange=exchange,
            root=hasattr(os, "geteuid") and os.geteuid() == 0,
            service_token=service_token,
            # The spawner passes on almost no environment: hand the servers the Jupyter paths this
            # Python sees (a venv over a base Python keeps JupyterLab's config and the widget
            # managers' lab extensions under the base prefix).
            jupyter_path=os.pathsep.join([*jupyter_path(), str(Path(sys.base_prefix) / "share" / "jupyter")]),
            jupyter_config_path=os.pathsep.join(
                [*jupyter_config_path(), str(Path(sys.base_prefix) / "etc" / "jupyter")]
            ),
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "TUTORNB_", "JPY_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = (base / "hub.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(base / "jupyterhub_config.py")],
        cwd=base,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub = Hub(base, f"http://127.0.0.1:{port}/", service_token, exchange, process, {}, model)
    started = time.monotonic()
    try:
        with hub.api() as api:
            _wait(lambda: api.get("").status_code == 200, "the hub", process, 60)
            print(f"hub up in {time.monotonic() - started:.1f}s")
            for user in (*USERS, *SERVICE_USERS):
                assert api.post(f"users/{user}").status_code in (201, 409)
            for user in (*USERS, *SERVICE_SERVERS):
                assert api.post(f"users/{user}/server").status_code in (201, 202)
            for user in SERVICE_USERS:
                if user not in SERVICE_SERVERS:
                    made = api.post(f"users/{user}/tokens", json={"note": "tutornb hub test"})
                    assert made.status_code == 201, made.text
                    hub.tokens[user] = made.json()["token"]
            for user in (*USERS, *SERVICE_SERVERS):
                _wait(
                    lambda u=user: api.get(f"users/{u}").json()["servers"][""]["ready"],
                    f"{user}'s server",
                    process,
                    60,
                )
                made = api.post(f"users/{user}/tokens", json={"note": "tutornb hub test"})
                assert made.status_code == 201, made.text
                hub.tokens[user] = made.json()["token"]
        with hub.service(INSTRUCTOR) as service:
            _wait(lambda: service.get("").status_code == 200, "the tutornb-hub service", process, 60)
        print(f"hub, service and three servers ready in {time.monotonic() - started:.1f}s")
        yield hub
    except BaseException:
        print(f"jupyterhub log (tail):\n{hub.log_tail()}")
        raise
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()
        model.stop()
        # Kept for a look after a failure (tokens are redacted).
        (Path(tempfile.gettempdir()) / "tutornb-hub-last.log").write_text(
            hub.log_tail(2000), encoding="utf-8"
        )
        shutil.rmtree(base, ignore_errors=True)
