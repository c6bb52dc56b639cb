"""The panel's own HTML sanitizer, run in chromium against payloads the server would never send.

The server already sanitizes tutor and learner HTML; this is the page's second line of defence, so
it is tested on raw hostile HTML, not on what the server produces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHAT_JS = Path(__file__).resolve().parents[2] / "tutornb" / "widget" / "static" / "chat.js"
ORIGIN = "http://tutornb.test"

HOSTILE = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=2</script>",
    "<a href='javascript:window.__xss=3'>link</a>",
    "<a href='java\tscript:window.__xss=4'>tab</a>",
    "<a href=' JaVaScRiPt:window.__xss=5'>case</a>",
    "<svg onload=window.__xss=6><circle/></svg>",
    "<iframe srcdoc='<script>parent.__xss=7</script>'></iframe>",
    "<form action=/x><input name=a autofocus onfocus=window.__xss=8></form>",
    "<div id=panel name=n style='position:fixed' data-tutornb=send onclick=window.__xss=9>x</div>",
    "<math><mtext><img src=x onerror=window.__xss=10></mtext></math>",
    "<details open ontoggle=window.__xss=11>d</details>",
    "<p>ok <b>bold</b> <code class='language-python'>x = 1</code></p>",
    "<a href='https://docs.python.org/3/'>docs</a>",
    "<template><img src=x onerror=window.__xss=12></template>",
    "<object data='javascript:window.__xss=13'></object>",
    "<img src='data:image/svg+xml,<svg onload=alert(1)>'>",
]


@pytest.fixture
def module_page(browser: Any) -> Any:
    context = browser.new_context()
    page = context.new_page()

    def serve(route: Any) -> None:
        if route.request.url.endswith("/chat.js"):
            route.fulfill(body=CHAT_JS.read_text(encoding="utf-8"), content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><html><body></body></html>", content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    context.close()


@pytest.mark.browser
def test_hostile_html_is_rebuilt_from_an_allowlist(module_page: Any) -> None:
    # Given the panel's module loaded in a page
    # When each hostile snippet goes through its sanitizer and into the live document
    result = module_page.evaluate(
        """async (snippets) => {
             const { sanitizeHtml } = await import('/chat.js');
             const host = document.createElement('div');
             document.body.append(host);
             for (const html of snippets) host.append(sanitizeHtml(html));
             await new Promise((resolve) => setTimeout(resolve, 300));  // let images fail
             const all = Array.from(host.querySelectorAll('*'));
             return {
               xss: typeof window.__xss,
               tags: [...new Set(all.map((n) => n.localName))].sort(),
               attributes: [...new Set(all.flatMap((n) => n.getAttributeNames()))].sort(),
               hrefs: all.filter((n) => n.hasAttribute('href')).map((n) => n.getAttribute('href')),
               text: host.textContent,
             };
           }""",
        HOSTILE,
    )

    # Then nothing ran, and only harmless elements and attributes are left
    assert result["xss"] == "undefined"
    assert set(result["tags"]) <= {"a", "b", "code", "div", "img", "p"}
    assert set(result["attributes"]) <= {"class", "href", "rel", "src", "target", "referrerpolicy"}
    assert result["hrefs"] == ["https://docs.python.org/3/"]
    # Harmless content survives, with its formatting
    assert "ok bold x = 1" in result["text"]
    assert "docs" in result["text"]


@pytest.mark.browser
def test_relative_times_read_like_the_resume_offer(module_page: Any) -> None:
    # Given a fixed "now"
    # When session times are described relative to it
    labels = module_page.evaluate(
        """async () => {
             const { relativeTime } = await import('/chat.js');
             const now = Date.parse('2026-01-10T12:00:00Z');
             return ['2026-01-10T11:59:40Z', '2026-01-10T11:30:00Z', '2026-01-10T10:00:00Z',
                     '2026-01-07T12:00:00Z', 'not a date'].map((t) => relativeTime(t, now));
           }"""
    )

    # Then they read like "2 h ago"
    assert labels == ["just now", "30 min ago", "2 h ago", "3 d ago", ""]
