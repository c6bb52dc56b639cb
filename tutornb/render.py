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
from pygments.util import ClassNotFound

from tutornb.htmlpolicy import SANITIZER_POLICY

#: The sanitizer's allowlist (one, in tutornb.htmlpolicy): tests import these, never copy them.
ALLOWED_TAGS = set(SANITIZER_POLICY["tags"])
ALLOWED_ATTRIBUTES = {tag: set(names) for tag, names in SANITIZER_POLICY["attributes"].items()}
_URL_SCHEMES = set(SANITIZER_POLICY["url_schemes"])
_LINK_REL = str(SANITIZER_POLICY["link_rel"])
_TOKEN_CLASSES = frozenset(SANITIZER_POLICY["classes"]["span"])
_LANGUAGE_CLASS = re.compile(SANITIZER_POLICY["classes"]["code"]["pattern"])
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
            clean_content_tags=set(SANITIZER_POLICY["dropped_tags"]),
            attributes=ALLOWED_ATTRIBUTES,
            attribute_filter=_filter_attribute,
            strip_comments=True,
            link_rel=_LINK_REL,
            set_tag_attribute_values={"a": {"target": "_blank"}},
            url_schemes=_URL_SCHEMES,
            url_relative="deny" if not SANITIZER_POLICY["url_relative"] else "pass_through",
        )
    )


@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Sanitized HTML for a chat message's Markdown ``text``.

    Cached: the offline tutor quotes the same course passages to many learners, and highlighting
    their code is the costly part of a reply."""
    return sanitize_html(_markdown().render(text))
