"""Markdown rendering: what chat messages show must be inert HTML, whatever the text contains."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tutornb.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown, sanitize_html

ALLOWED_ATTRS = {name for names in ALLOWED_ATTRIBUTES.values() for name in names} | {"target", "rel"}

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=5></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\nscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    '![x](https://example.com/a.png "title" onerror=alert(1))',
    "<form action=https://evil.example><input name=a></form>",
    '<input id="jp-main-dock-panel" name="location">',
    '<div id="__proto__" name="body">clobber</div>',
    '<button data-commandlinker-command="terminal:create-new">open</button>',
    '<span data-commandlinker-command="terminal:create-new">x</span>',
    '<p style="position:fixed;top:0">overlay</p>',
    "<iframe src=https://evil.example></iframe>",
    "<object data=x></object><embed src=x>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    "<base href=https://evil.example>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<template><img src=x onerror=alert(1)></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    "```html\n<script>alert(1)</script>\n```",
    '```python" onmouseover="alert(1)\nprint(1)\n```',
    "`<img src=x onerror=alert(1)>`",
    '[link](https://example.com "x\\" onmouseover=alert(1)")',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="#" id="x" name="y" class="jp-Dialog">spoof</a>',
    "[relative](/api/contents/secret.ipynb)",
    "![pixel](/tutornb/api/sessions)",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def parsed(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = _Collector()
    collector.feed(html)
    return collector.tags


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("render", [render_markdown, sanitize_html])
def test_hostile_input_renders_inert(payload: str, render: object) -> None:
    # Given hostile Markdown/HTML (as a learner or a steered model might write it)
    # When it is rendered for the chat panel
    html = render(payload)  # type: ignore[operator]
    # Then only allowlisted tags and attributes remain, no handler, no script URL, no id/name/style
    for tag, attrs in parsed(html):
        assert tag in ALLOWED_TAGS, (payload, tag)
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (payload, name)
            if name in ("href", "src"):
                assert value is not None
                assert re.match(r"^(https?:|mailto:)", value), (payload, value)
            if name == "class":
                assert value is not None
                assert "jp-" not in value
    # And markup that was text stays text (escaped), never a live element
    assert "<script" not in html.lower()
    assert "<svg" not in html.lower()


def test_links_open_in_a_new_tab_without_referrer_or_opener() -> None:
    # Given a Markdown link
    # When rendered
    html = render_markdown("[docs](https://docs.python.org/3/)")
    # Then it keeps its URL and gets target=_blank with rel="noopener noreferrer nofollow"
    ((tag, attrs),) = parsed(html)[1:]
    assert tag == "a"
    values = dict(attrs)
    assert values["href"] == "https://docs.python.org/3/"
    assert values["target"] == "_blank"
    assert values["rel"] == "noopener noreferrer nofollow"


def test_code_is_highlighted_and_escaped() -> None:
    # Given a fenced Python block with markup-like text in a string
    text = '```python\nprint("<b>not bold</b>")\n```'
    # When rendered
    html = render_markdown(text)
    # Then pygments token spans are present and the markup stays text
    assert '<code class="language-python">' in html
    assert '<span class="nb">print</span>' in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "<b>" not in html


def test_ordinary_markdown_survives() -> None:
    # Given everyday tutor Markdown
    text = (
        "## Lists\n\n- **mutable**\n- *ordered*\n\n1. a\n2. b\n\n> quote\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    # When rendered
    html = render_markdown(text)
    # Then its structure is kept
    for fragment in ("<h2>", "<ul>", "<strong>mutable</strong>", "<em>ordered</em>", "<ol>"):
        assert fragment in html
    assert "<blockquote>" in html
    assert "<table>" in html
