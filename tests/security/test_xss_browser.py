"""XSS payloads sent as learner messages and echoed as tutor output, rendered by the panel's real
``chat.js`` in a real chromium: nothing executes, nothing dangerous survives in the DOM.

The messages come from a live server (``xss_sessions``): learner text with the server's sanitized
HTML, and the hostile tutor's replies, citations and quizzes. The page mounts the real panel (its
comm pipe answered with that data), its resume offer and history drawer, then each sanitizer on its
own (server HTML inserted as is; raw payloads through the panel's sanitizer). A positive control
loads each raw payload as a document of its own, to prove the canaries do fire when nothing
sanitizes them.
"""

from __future__ import annotations

import pytest

from tests.support.hostile_chat import XssSession
from tests.support.hostile_payloads import xss_payloads
from tests.support.live_server import LiveServer
from tests.support.xss_browser import run_in_browser

pytestmark = pytest.mark.browser


def test_no_payload_executes_or_survives_in_the_real_panel(
    chromium_path: str, xss_sessions: list[XssSession], hostile_server: LiveServer
) -> None:
    # Given every payload stored through the live server, and the server's own history listing
    payloads = xss_payloads()
    with hostile_server.client() as client:
        listing = client.get("sessions", params={"course_id": "xss", "limit": 200}).json()
    assert listing["total"] == len(xss_sessions)
    # When the panel renders them all in chromium (and each sanitizer is tried on its own)
    report = run_in_browser(chromium_path, xss_sessions, listing, payloads)
    # Then everything was rendered...
    assert report.counts["widgets"] == len(xss_sessions)
    assert report.counts["messages"] == 2 * len(payloads)
    assert report.counts["historyItems"] == len(xss_sessions)
    assert report.counts["clientFence"] == len(payloads)
    # ...no canary fired, no dialog opened, the page did not navigate...
    assert report.executed == []
    assert report.location.startswith("http://127.0.0.1:")
    # ...and no handler, javascript: URL, id/name, form, style or command-linker attribute, and no
    # script/iframe/svg/form element is left in the DOM
    assert report.problems == {"widgets": [], "serverFence": [], "clientFence": []}
    # And the checks can fail: the audit flags a known-bad fragment, and unsanitized (each raw
    # payload as a document of its own) the canaries of every kind of payload do fire
    assert len(report.self_test) == 5, report.self_test
    assert len(report.control_executed) >= 50, len(report.control_executed)
    families = {p.number: p.family.split(":")[0] for p in payloads}
    fired = {families[n] for n in report.control_executed}
    assert {"script", "event-handler", "svg", "markdown", "parser-confusion"} <= fired
