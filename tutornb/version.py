"""The package version, in a module of its own so that modules needing it never import the package
(whose ``__init__`` imports the server, widget and magics: an import cycle)."""

from __future__ import annotations

__version__ = "0.1.0"
