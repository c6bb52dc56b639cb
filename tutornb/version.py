"""The package version, in a module of its own: the server, the exports and the reports read it
without importing the package (whose ``__init__`` names the entry points: the chat panel, the
``%tutor`` magics and the server extension, each imported only when it is used)."""

from __future__ import annotations

__version__ = "0.1.0"
