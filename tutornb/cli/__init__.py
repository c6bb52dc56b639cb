"""The ``tutornb`` console script (entry point ``tutornb.cli.console``), one module per command family."""

from __future__ import annotations

from tutornb.cli.console import main

__all__ = ["main"]
