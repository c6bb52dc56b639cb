"""Rules for plain text shown to a learner or a tutor, one definition each for every layer.

- :func:`strip_ansi`: terminal escape sequences out of a traceback or a captured output. Every
  ECMA-48 control sequence goes, including private ones like ``\\x1b[?25h`` (show the cursor) that a
  traceback pasted from a terminal carries, and OSC sequences (a terminal's hyperlinks).
- :func:`clip`: a text cut to a length, with an ellipsis saying it was cut.
- :func:`without_addresses`: a network address (``host:port``, a URL, an IPv4 address) out of an
  error text a learner reads. The model tutor's failures name the endpoint so that the server log
  can say which one failed; the learner's view (the panel, ``%tutor ask``, any other front end)
  gets the same sentence without it, made once on the server.
"""

from __future__ import annotations

import re

#: CSI (``ESC [`` parameters, intermediates, final byte), OSC (``ESC ]`` … BEL or ``ESC \\``), and
#: the two-byte escapes (``ESC`` + one of ``@``-``Z``, ``\\``-``_``).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")

_ADDRESS = r"(?:[a-z][a-z0-9+.-]*://\S+|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b|\b[a-z][\w.-]*:\d{1,5}\b)"
#: "the model service at <host[:port]> failed" reads as a sentence without the host (whatever its
#: form: a name, a name with a port, an IP address).
_AT_ADDRESS = re.compile(r"(?<=model service) at [^\s()]+(?=\s)", re.IGNORECASE)
#: An address anywhere else becomes a plain noun.
_ANY_ADDRESS = re.compile(_ADDRESS, re.IGNORECASE)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def clip(text: str, limit: int) -> str:
    """``text`` when it fits in ``limit`` characters, else its first ``limit - 1`` and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def without_addresses(text: str) -> str:
    """``text`` with every network address taken out (see the module docstring)."""
    return _ANY_ADDRESS.sub("the model service", _AT_ADDRESS.sub("", text))
