"""``tutornb lab``: JupyterLab on the course notebooks, with tutornb's store and this interpreter."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tutornb.cli.common import EXIT_OK, CLIError, store_dir
from tutornb.paths import STORE_DIR_ENV


def course_folder() -> Path:
    """The repository's ``notebooks/`` course when installed from a checkout, else the current
    folder."""
    candidate = Path(__file__).resolve().parents[2] / "notebooks"
    return candidate if candidate.is_dir() else Path.cwd()


def lab_command(port: int | None, extra: Sequence[str] = ()) -> list[str]:
    # This interpreter's JupyterLab, never the first ``jupyter`` on PATH: that may belong to another
    # environment (without tutornb), e.g. when ``.venv/bin/tutornb lab`` runs without activating.
    command = [sys.executable, "-m", "jupyterlab"]
    command += [f"--ServerApp.root_dir={course_folder()}", "--ServerApp.ip=127.0.0.1"]
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra)


def base_jupyter_data() -> list[str]:
    """The base Python's Jupyter data folder, when this is a virtual environment that sees its packages.

    In a ``--system-site-packages`` environment, ``python -m jupyterlab`` imports JupyterLab and
    ipywidgets from the base Python, but Jupyter looks for their data (the labextensions, among
    them the widget manager that draws the panel) only under the environment's own prefix: without
    this the panel shows as plain text.
    """
    if sys.prefix == sys.base_prefix:
        return []
    base = str(Path(sys.base_prefix))
    if not any(entry.startswith(base) and entry.endswith("site-packages") for entry in sys.path):
        return []
    data = Path(sys.base_prefix) / "share" / "jupyter"
    return [str(data)] if data.is_dir() else []


def with_base_jupyter_data(jupyter_path: str | None) -> str:
    """``JUPYTER_PATH`` extended by :func:`base_jupyter_data` (last: the environment's own data wins)."""
    parts = [part for part in (jupyter_path or "").split(os.pathsep) if part]
    return os.pathsep.join(parts + [data for data in base_jupyter_data() if data not in parts])


def cmd_lab(args: argparse.Namespace) -> int:
    extra = [arg for arg in args.jupyter_args if arg != "--"]
    if args.no_browser:
        extra.append("--no-browser")
    command = lab_command(args.port, extra)
    if args.dry_run:
        print(" ".join(command))
        return EXIT_OK
    if getattr(args, "store", None):
        # The server extension reads this, and exports it to the kernels it starts.
        os.environ[STORE_DIR_ENV] = str(store_dir(args))
    if base_jupyter_data():
        os.environ["JUPYTER_PATH"] = with_base_jupyter_data(os.environ.get("JUPYTER_PATH"))
    try:
        # Become jupyter lab rather than wrapping it: signals (Ctrl+C, a supervisor's SIGTERM) then reach
        # the server itself, and no orphaned server outlives a killed wrapper.
        os.execvp(command[0], command)  # noqa: S606 - a fixed argv, no shell
    except FileNotFoundError:
        raise CLIError("JupyterLab is not installed (pip install jupyterlab)") from None


def add_lab_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Adds ``lab`` to the parser."""
    p = sub.add_parser("lab", parents=[common], help="start JupyterLab on the course notebooks")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--dry-run", action="store_true", help="print the command instead")
    p.set_defaults(jupyter_args=[])
    p.set_defaults(func=cmd_lab)
