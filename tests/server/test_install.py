"""pip install alone enables the extension: the wheel ships the config; a plain server loads it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.support.live_server import free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG_IN_WHEEL = "etc/jupyter/jupyter_server_config.d/tutornb.json"


def test_wheel_maps_the_server_config_into_etc_jupyter(tmp_path: Path) -> None:
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    # Given the project source
    # When a wheel is built (as pip install does)
    builder = hatchling.WheelBuilder(str(REPO))
    wheel = Path(next(iter(builder.build(directory=str(tmp_path), versions=["standard"]))))
    # Then the server config is shared data under etc/jupyter, enabling tutornb, and the API
    # document ships inside the package
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = [n for n in names if n.endswith(CONFIG_IN_WHEEL)]
        assert data == [f"tutornb-0.1.0.data/data/{CONFIG_IN_WHEEL}"]
        config = json.loads(archive.read(data[0]))
        assert "tutornb/server/openapi.yaml" in names
    assert config == {"ServerApp": {"jpserver_extensions": {"tutornb": True}}}


def test_a_plain_jupyter_server_serves_tutornb(tmp_path: Path) -> None:
    # Given the installed package (editable install put the config into sys.prefix/etc/jupyter),
    # and a server started with no tutornb configuration at all
    installed = Path(sys.prefix) / CONFIG_IN_WHEEL
    assert installed.is_file()
    root = tmp_path / "root"
    root.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORNB_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # When its tutornb status route is called with the token
        url = f"http://127.0.0.1:{port}/tutornb/api/status"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status = json.loads(response.read())
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                # (the first tutornb request opens the service: on a loaded machine it may take a while)
                time.sleep(0.2)
        # Then it answers, with its store in <root>/.tutornb
        assert status is not None, "tutornb did not answer on a plain jupyter server"
        assert status["store"]["path"] == "<root>/.tutornb"
        assert (root / ".tutornb").is_dir()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    # And nothing it logged contains the token or a traceback
    log = err.decode("utf-8", "replace")
    assert token not in log.replace(f"?token={token}", "")
    assert "Traceback" not in log
