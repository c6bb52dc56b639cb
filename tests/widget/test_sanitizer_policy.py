"""One sanitizer allowlist: the server's nh3 fence and the panel's page fence use the same data."""

from __future__ import annotations

import json

import pytest
from traitlets import TraitError

from tutornb.htmlpolicy import SANITIZER_POLICY
from tutornb.render import sanitize_html
from tutornb.widget.panel import ChatPanel


def test_the_panel_carries_the_servers_policy_read_only_and_as_json() -> None:
    # Given a panel
    panel = ChatPanel()
    # Then its synced policy is the server's, survives JSON (the comm), and cannot be changed
    assert panel.sanitizer_policy == SANITIZER_POLICY
    assert json.loads(json.dumps(panel.get_state()["sanitizer_policy"])) == SANITIZER_POLICY
    with pytest.raises(TraitError, match="read-only"):
        panel.sanitizer_policy = {}


def test_the_server_fence_follows_the_policy() -> None:
    # Given HTML with a relative image, a foreign class and a token class
    html = (
        '<p class="jp-LabShell">x <img src="/logout"> <a href="files/a">rel</a></p>'
        '<pre><code class="language-python jp-X"><span class="k nope">def</span></code></pre>'
    )
    # When the server sanitizes it
    clean = sanitize_html(html)
    # Then only what the policy allows is left
    assert "/logout" not in clean
    assert "jp-LabShell" not in clean
    assert 'href="files/a"' not in clean
    assert 'class="language-python"' in clean
    assert '<span class="k">' in clean
    assert set(SANITIZER_POLICY["url_schemes"]) == {"http", "https", "mailto"}
    assert SANITIZER_POLICY["url_relative"] is False
