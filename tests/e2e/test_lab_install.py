"""The prebuilt JupyterLab extension ships with the package: in the wheel (and so in `pip install`, editable
too) as `share/jupyter/labextensions/tutornb`, the very files committed in `tutornb/labextension`, and
JupyterLab lists it as `tutornb`, enabled and OK, with no build step and no Node."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "tutornb" / "labextension"
SHARED = "share/jupyter/labextensions/tutornb/"


def test_the_wheel_ships_the_built_extension_as_shared_data(tmp_path: Path) -> None:
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    wheel = Path(
        next(iter(hatchling.WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"])))
    )
    prefix = f"tutornb-0.1.0.data/data/{SHARED}"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n[len(prefix) :]: archive.read(n) for n in archive.namelist() if n.startswith(prefix)}
    committed = {str(p.relative_to(BUILT)): p.read_bytes() for p in BUILT.rglob("*") if p.is_file()}
    assert "install.json" in shipped
    assert {k: v for k, v in shipped.items() if k != "install.json"} == committed
    assert any(re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", name) for name in committed)


def test_jupyterlab_lists_the_extension_as_tutornb_enabled_and_ok() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120
    )
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in (listed.stdout + listed.stderr).splitlines()]
    ours = [line.split() for line in lines if line.strip().startswith("tutornb ")]
    assert ours, "\n".join(lines[-20:])
    assert ours[0][:4] == ["tutornb", "v0.1.0", "enabled", "OK"], ours
