"""The one HTML allowlist of tutornb, shared by the server's sanitizer and the panel's.

:mod:`tutornb.render` configures nh3 from :data:`SANITIZER_POLICY`; the chat panel receives the
same dict as a synced trait and its page-side fence (``chat.js``) allows exactly this and nothing
more. Kept apart from ``render`` so the kernel can hand it to the page without importing
markdown-it and nh3 (they cost ~0.1 s of ``%tutor`` start-up).
"""

from __future__ import annotations

from typing import Any

from pygments.token import STANDARD_TYPES

#: THE sanitizer allowlist, as JSON-able data: :mod:`tutornb.render` configures nh3 from it, and
#: the panel gets the same dict (``ChatPanel.sanitizer_policy``) for its own fence in the page, so
#: the two never drift apart (issue #11: the page used to keep relative URLs and any ``class``).
#:
#: - ``tags``: elements kept; any other element is unwrapped (its text stays), except
#:   ``dropped_tags``, which go with everything inside them;
#: - ``attributes``: per tag, the attributes kept;
#: - ``classes``: per tag, which class names survive: a list of names, or ``{"pattern": regex}``;
#: - ``url_schemes``: the only schemes an ``href``/``src`` may use; relative URLs are refused when
#:   ``url_relative`` is false (``/logout`` in an image would be fetched with the learner's cookie).
SANITIZER_POLICY: dict[str, Any] = {
    "tags": sorted(
        {
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
    ),
    "dropped_tags": ["iframe", "math", "object", "script", "style", "svg", "template"],
    "attributes": {
        "a": ["href", "title"],
        "img": ["alt", "src", "title"],
        "ol": ["start"],
        "code": ["class"],
        "span": ["class"],
    },
    "classes": {
        "code": {"pattern": r"^language-[A-Za-z0-9_+#.-]{1,32}$"},
        #: Pygments' short token classes ("k", "nf", "s2", ...), emitted by the highlighter.
        "span": sorted(cls for cls in STANDARD_TYPES.values() if cls),
    },
    "url_schemes": ["http", "https", "mailto"],
    "url_relative": False,
    "link_rel": "noopener noreferrer nofollow",
}
