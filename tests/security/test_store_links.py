"""Issue #11 finding 3 against a real server: a ``.tutornb`` planted as a link to another folder.

The server must refuse the store (tutornb answers 503 with a one-line JSON error, the log names the
reason without a traceback or a path) and create, write or chmod nothing in the link's target; the
rest of Jupyter keeps working.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.live_server import LiveServer

TARGET_TEXT = b"another user's notes\n"


def test_a_symlinked_store_folder_is_refused_by_the_server(tmp_path: Path) -> None:
    # Given a server root whose .tutornb is a link to someone else's folder
    server = LiveServer(tmp_path / "server")
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    (target / "notes.txt").write_bytes(TARGET_TEXT)
    os.symlink(target, server.root / ".tutornb")
    # When the server starts and a client asks tutornb for anything
    with server, server.client() as client:
        status = client.get("status")
        created = client.post("sessions", json={"context": {}})
        jupyter = server.api().get("api/status")
    # Then tutornb refuses with one clear error, and Jupyter itself is fine
    assert status.status_code == 503
    assert created.status_code == 503
    body = status.json()
    assert body["code"] == "STORE_UNAVAILABLE"
    assert "\n" not in body["message"]
    assert str(tmp_path) not in body["message"]
    assert jupyter.status_code == 200
    assert "could not start (STORE_UNAVAILABLE)" in server.log_text()
    assert server.unhandled() == []
    # And the link's target is exactly as it was: no store files, same mode, same content
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert (target / "notes.txt").read_bytes() == TARGET_TEXT
    assert (server.root / ".tutornb").is_symlink()
