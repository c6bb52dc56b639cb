"""Markdown to HTML that is safe to insert into JupyterLab's DOM.

Learner and tutor text are both untrusted (a tutor may echo a learner, a model may be steered), and
the panel renders the ``html`` next to JupyterLab's own UI. So the rendering is two independent
fences: markdown-it with raw HTML disabled (HTML in the text stays text), then nh3 with a small
allowlist that keeps no event handler, no ``id``/``name`` (DOM clobbering), no
``style``/``form``/``svg``, no ``data-*`` (JupyterLab's ``data-commandlinker-*`` buttons), and only
absolute http(s)/mailto URLs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

#: The sanitizer's allowlist: the only tags and attributes chat HTML may hold (tests import these,
#: never copy them).
ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"class"},
    "span": {"class"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "noopener noreferrer nofollow"
#: Pygments' short token classes ("k", "nf", "s2", ...): the only classes a span may carry.
_TOKEN_CLASSES = frozenset(cls for cls in STANDARD_TYPES.values() if cls)
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")
_FORMATTER = HtmlFormatter(nowrap=True)
#: Text longer than this is not highlighted (pygments cost grows with size; it stays escaped text).
_MAX_HIGHLIGHT_CHARS = 50_000


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Fenced code with a known language gets pygments spans; anything else stays plain escaped
    text."""
    if not lang or len(code) > _MAX_HIGHLIGHT_CHARS:
        return ""
    lexer = _lexer(lang.strip().lower()[:40])
    if lexer is None:
        return ""
    return str(highlight(code, lexer, _FORMATTER))


@lru_cache(maxsize=64)
def _lexer(name: str) -> Any:
    """Lexer lookup scans pygments' plugins (milliseconds); chat code blocks reuse a few names."""
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    return md


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Classes are kept only where the renderer itself put them (code language, pygments tokens)."""
    if attr != "class":
        return value
    if tag == "code":
        kept = [c for c in value.split() if _LANGUAGE_CLASS.match(c)]
    elif tag == "span":
        kept = [c for c in value.split() if c in _TOKEN_CLASSES]
    else:
        kept = []
    return " ".join(kept) or None


def sanitize_html(html: str) -> str:
    """The allowlist fence on its own: for HTML that did not come from :func:`render_markdown`."""
    return str(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            clean_content_tags={"script", "style", "template", "svg", "math", "iframe", "object"},
            attributes=ALLOWED_ATTRIBUTES,
            attribute_filter=_filter_attribute,
            strip_comments=True,
            link_rel=_LINK_REL,
            set_tag_attribute_values={"a": {"target": "_blank"}},
            url_schemes=_URL_SCHEMES,
            url_relative="deny",
        )
    )


@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Sanitized HTML for a chat message's Markdown ``text``.

    Cached: the offline tutor quotes the same course passages to many learners, and highlighting
    their code is the costly part of a reply."""
    return sanitize_html(_markdown().render(text))
