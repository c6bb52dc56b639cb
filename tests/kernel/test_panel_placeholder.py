"""What a `%tutor` cell keeps as its plain-text output: what JupyterLab shows after a reload, when
the widget's live state is gone (issue 19: it used to be `<tutornb.widget.panel.ChatPanel object at 0x…>`)."""

from __future__ import annotations

from tutornb.widget.panel import PLACEHOLDER

from .conftest import Shell


def test_the_panel_output_reads_as_a_placeholder_not_a_python_repr(shell: Shell) -> None:
    _, err, shown = shell.run("")
    assert err == ""
    [bundle] = shown
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == PLACEHOLDER
    assert "object at 0x" not in bundle["text/plain"]
    assert "run this cell or open the tutor sidebar" in bundle["text/plain"]
