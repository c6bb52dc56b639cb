"""The learner's chat panel: an anywidget whose browser half is plain ESM (``static/chat.js``), no
build.
"""

from __future__ import annotations

from tutornb.widget.panel import ChatPanel, open_panel, panel_for

__all__ = ["ChatPanel", "open_panel", "panel_for"]
