"""The panel's page code on its own in chromium (no Jupyter): its HTML sanitizer, against payloads the
server would never send, its remote-image placeholders, and the mount API other hosts use.

The server already sanitizes tutor and learner HTML; this is the page's second line of defence, so
it is tested on raw hostile HTML, not on what the server produces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tutornb.htmlpolicy import SANITIZER_POLICY

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
        """async ([snippets, policy]) => {
             const { sanitizeHtml } = await import('/chat.js');
             const host = document.createElement('div');
             document.body.append(host);
             for (const html of snippets) host.append(sanitizeHtml(html, policy));
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
        [HOSTILE, SANITIZER_POLICY],
    )

    # Then nothing ran, and only harmless elements and attributes are left
    assert result["xss"] == "undefined"
    assert set(result["tags"]) <= {"a", "code", "img", "p"}
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


@pytest.mark.browser
def test_the_page_allows_only_what_the_server_policy_allows(module_page: Any) -> None:
    # Given HTML that only a stored (imported) message could carry: a relative image URL that would be
    # fetched with the learner's cookie, JupyterLab's own classes, a protocol-relative link
    snippets = [
        '<img src="/logout" alt="x">',
        '<p class="jp-LabShell lm-Widget">fake sign-in</p>',
        '<a href="//evil.test/x">proto-relative</a>',
        '<a href="files/secret.txt">relative</a>',
        '<span class="k jp-Dialog">def</span>',
        '<code class="language-python jp-LabShell">x</code>',
    ]
    # When the page sanitizes them with the server's policy (and with no policy at all)
    result = module_page.evaluate(
        """async ([snippets, policy]) => {
             const { sanitizeHtml } = await import('/chat.js');
             const host = document.createElement('div');
             for (const html of snippets) host.append(sanitizeHtml(html, policy));
             const bare = document.createElement('div');
             for (const html of snippets) bare.append(sanitizeHtml(html));
             const all = Array.from(host.querySelectorAll('*'));
             return {
               srcs: all.filter((n) => n.hasAttribute('src')).map((n) => n.getAttribute('src')),
               hrefs: all.filter((n) => n.hasAttribute('href')).map((n) => n.getAttribute('href')),
               classes: all.filter((n) => n.hasAttribute('class')).map((n) => n.getAttribute('class')),
               text: host.textContent,
               bareElements: bare.querySelectorAll('*').length,
               bareText: bare.textContent,
             };
           }""",
        [snippets, SANITIZER_POLICY],
    )
    # Then no relative URL and no class the server would not emit survives; the words stay
    assert result["srcs"] == []
    assert result["hrefs"] == []
    assert sorted(result["classes"]) == ["k", "language-python"]
    assert "fake sign-in" in result["text"]
    # And without a policy only text is kept
    assert result["bareElements"] == 0
    assert "fake sign-in" in result["bareText"]


# A 1x1 transparent PNG, served for every image the page asks for.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@pytest.mark.browser
def test_remote_images_are_fetched_only_when_the_learner_asks(module_page: Any) -> None:
    # Given an image host that records every request it gets (an image URL in a message tells its host
    # that, and when, the message was read)
    requested: list[str] = []

    def image_host(route: Any) -> None:
        requested.append(route.request.url)
        route.fulfill(body=PIXEL, content_type="image/png")

    module_page.route("http://images.test/**", image_host)

    # When a stored (server-rendered) message and a streamed one with remote images are shown, and then
    # a control image is loaded (requests go out in order: once it has arrived, any image the messages
    # asked for would have been requested before it)
    shown = module_page.evaluate(
        """async ([stored, streamed, policy]) => {
             const { sanitizeHtml, renderStreamingMarkdown } = await import('/chat.js');
             const host = document.createElement('div');
             host.id = 'host';
             document.body.append(host);
             host.append(sanitizeHtml(stored, policy));
             host.append(renderStreamingMarkdown(streamed, policy));
             const control = new Image();
             control.src = 'http://images.test/control.png';
             await control.decode();
             return {
               images: host.querySelectorAll('img').length,
               inLinks: host.querySelectorAll('a button').length,
               linkText: host.querySelector('a').textContent,
               placeholders: Array.from(
                 host.querySelectorAll('[data-tutornb="image"]'), (b) => b.textContent),
             };
           }""",
        [
            '<p>See <img src="http://images.test/stored.png" alt="a chart"> and '
            '<a href="https://example.org/"><img src="http://images.test/linked.png" alt="logo"></a></p>',
            "Look: ![streamed](http://images.test/streamed.png)",
            SANITIZER_POLICY,
        ],
    )

    # Then nothing was fetched for the messages: each image is a button naming its host
    assert requested == ["http://images.test/control.png"]
    assert shown["images"] == 0
    assert shown["placeholders"] == [
        "Show image from images.test: a chart",
        "Show image from images.test: logo",
        "Show image from images.test: streamed",
    ]
    # and a linked image's button sits after its link (a button inside a link is not operable on its own)
    assert shown["inLinks"] == 0
    assert shown["linkText"] == "logo"

    # When the learner presses the first one, that image (and only it) is fetched, without a referrer
    with module_page.expect_request("http://images.test/stored.png") as request:
        module_page.locator("#host [data-tutornb='image']").first.click()
    assert request.value.headers.get("referer") is None
    image = module_page.locator("#host img")
    assert image.get_attribute("src") == "http://images.test/stored.png"
    assert image.get_attribute("alt") == "a chart"
    assert requested == ["http://images.test/control.png", "http://images.test/stored.png"]


# A transport with the page's Pipe shape, answering from data: one session whose tutor reply has a code block
# and a citation. Every host event reaching the document is recorded and handled, as the JupyterLab
# extension does.
MOUNT = r"""async ([policy]) => {
  const { mountChat } = await import('/chat.js');
  window.__tnbEvents = [];
  for (const name of ['tutornb:navigate', 'tutornb:insert-code', 'tutornb:ask-error']) {
    document.addEventListener(name, (event) => {
      window.__tnbEvents.push({ name, detail: event.detail });
      event.preventDefault();
    }, true);
  }
  const reply = {
    id: 'm2', seq: 2, role: 'tutor', text: 'Like this', created_at: '2026-01-01T10:00:01Z',
    html: '<p>Like this:</p><pre><code class="language-python">print(1)\n</code></pre>',
    citations: [{ notebook_path: 'other.ipynb', cell_index: 4, heading: 'Loops' }],
  };
  const question = { id: 'm1', seq: 1, role: 'learner', text: 'How?', created_at: '2026-01-01T10:00:00Z' };
  const transport = {
    kind: 'websocket',
    async request(method) {
      return method === 'list_sessions' ? { sessions: [], total: 0 } : {};
    },
    async exportSession() { return { blob: new Blob([]), filename: 'x' }; },
    openChat(sessionId, handlers) {
      setTimeout(() => {
        handlers.onStatus('online');
        const session = { id: sessionId, status: 'active', messages: [question, reply] };
        handlers.onFrame({ type: 'session', session });
      }, 0);
      return { online: true, send: () => true, retryNow() {}, close() {} };
    },
    dispose() {},
  };
  const root = document.createElement('div');
  root.setAttribute('data-tutornb', 'sidebar');
  document.body.append(root);
  const context = { course_id: 'py', course_title: 'Python', module_id: 'm', module_title: 'Lists',
                    notebook_path: 'here.ipynb' };
  window.__tnbChat = mountChat(root, { transport, context, hostName: 'jupyterlab-sidebar',
                                       sanitizerPolicy: policy });
}"""


@pytest.mark.browser
def test_mount_chat_renders_a_panel_that_asks_its_host(module_page: Any) -> None:
    page = module_page
    # Given a panel mounted by a host (the JupyterLab sidebar's way) on a transport of its own
    page.evaluate(MOUNT, [SANITIZER_POLICY])
    root = page.locator("[data-tutornb='sidebar']")
    panel = root.locator("[data-tutornb='panel']")
    expect(panel).to_be_visible()
    assert root.get_attribute("data-tutornb-host") == "jupyterlab-sidebar"
    expect(panel.locator("[data-tutornb='context']")).to_contain_text("Python \u203a Lists")

    # When nothing has been said yet, the greeting offers to ask about the last error: the host finds it
    suggestion = panel.locator("[data-suggestion='error']")
    suggestion.click()
    assert page.evaluate("() => window.__tnbEvents.splice(0)") == [
        {"name": "tutornb:ask-error", "detail": {}}
    ]

    # When a session is opened, its tutor reply offers Insert below and Replace cell on its code
    page.evaluate("() => window.__tnbChat.controller.openSession('s1', { resume: false })")
    reply = panel.locator("[data-tutornb='message'][data-role='tutor']")
    expect(reply).to_have_count(1)
    reply.locator("[data-tutornb='replace']").click()
    reply.locator("[data-tutornb='insert']").click()
    reply.locator("[data-tutornb='citation']").click()

    # Then each asks the host, which handled it: nothing else happened in the page
    assert page.evaluate("() => window.__tnbEvents.splice(0)") == [
        {"name": "tutornb:insert-code", "detail": {"code": "print(1)\n", "mode": "replace"}},
        {"name": "tutornb:insert-code", "detail": {"code": "print(1)\n", "mode": "below"}},
        {
            "name": "tutornb:navigate",
            "detail": {"notebook_path": "other.ipynb", "cell_index": 4, "heading": "Loops"},
        },
    ]
    expect(reply.locator("[data-tutornb='citation']")).to_have_count(1)
    expect(panel.locator("[data-tutornb='error']")).to_have_count(0)

    # When the host unmounts it, the root is left empty and unmarked
    page.evaluate("() => window.__tnbChat.destroy()")
    assert root.inner_html() == ""
    assert root.get_attribute("data-tutornb-host") is None
