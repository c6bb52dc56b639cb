"""Text from files made safe to print on a terminal.

File names, JSON keys and course ids in the instructor tools come from learners' files; printed raw,
an escape sequence in one can write the clipboard (OSC 52), move the cursor over earlier lines or
fake an "all good" line. Every control or format character (C0, C1, DEL, bidirectional overrides,
line and paragraph separators, lone surrogates) is shown as a visible escape instead.
"""

from __future__ import annotations

import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def term_safe(text: object) -> str:
    """``text`` with every character that could act on the terminal written as ``\\xNN``/``\\uNNNN``."""
    value = str(text)
    return "".join(_escape(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in value)
