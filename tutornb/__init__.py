"""tutornb: a tutor embedded in Jupyter course notebooks whose sessions are never lost.

Public API: :func:`chat` opens the chat panel, ``%load_ext tutornb`` registers the ``%tutor`` magic, and the
package is a Jupyter server extension. Heavy imports stay inside functions so loading the server extension or
the magic costs little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutornb.version import __version__

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from tutornb.widget import ChatPanel


def chat(notebook_path: str | None = None, *, session_id: str | None = None) -> ChatPanel:
    """Open the chat panel for this notebook (or ``notebook_path``), optionally on a given session."""
    from tutornb.widget import open_panel

    return open_panel(notebook_path=notebook_path, session_id=session_id)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    from tutornb.kernel.magics import register

    register(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from tutornb.server.app import TutorNBApp

    return [{"module": "tutornb.server.app", "app": TutorNBApp}]


__all__ = ["__version__", "chat", "load_ipython_extension"]
