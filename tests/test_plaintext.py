"""The plain-text rules every layer shares (``tutornb.plaintext``): one ANSI stripper, one clip, one
address filter; and the places that used to have their own copy now give the same answers."""

from __future__ import annotations

import pytest

from tutornb.kernel.lastrun import describe_error
from tutornb.plaintext import clip, strip_ansi, without_addresses
from tutornb.tutors.errorhelp import parse_traceback

#: A traceback as a terminal prints it: colours, a cursor show/hide pair, an OSC 8 hyperlink.
COLOURED = (
    "\x1b[?25l\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mTypeError\x1b[0m                                 Traceback (most recent call last)\n"
    "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n"
    "\x1b]8;;file:///tmp/x.py\x07x.py\x1b]8;;\x07\n"
    "\x1b[0;31mTypeError\x1b[0m: 'str' object does not support item assignment\x1b[?25h"
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[0;31mValueError\x1b[0m: bad", "ValueError: bad"),
        ("done\x1b[?25h", "done"),  # DEC private mode (show the cursor): survived the old tutor copy
        ("\x1b[1;38;5;196mred\x1b[39m", "red"),
        ("\x1b]8;;https://example.org\x07link\x1b]8;;\x07", "link"),
        ("\x1b]0;title\x1b\\text", "text"),
        ("\x1bMline", "line"),
        ("no escapes [0;31m here", "no escapes [0;31m here"),
    ],
)
def test_strip_ansi_removes_every_escape_sequence(raw: str, clean: str) -> None:
    assert strip_ansi(raw) == clean


def test_the_tutor_and_the_kernel_strip_a_pasted_traceback_alike() -> None:
    # Given a traceback pasted from a terminal, private cursor sequences included
    info = parse_traceback(COLOURED)
    # Then the tutor reads the exception without a stray escape
    assert info is not None
    assert info.exc_type == "TypeError"
    assert "\x1b" not in (info.message or "")
    assert "[?25h" not in (info.message or "")


def test_the_kernels_error_summary_carries_no_escape() -> None:
    # Given an exception whose text carries terminal escapes (a library that colours its errors)
    error = TypeError("\x1b[?25h\x1b[0;31m'str' object does not support item assignment\x1b[0m")
    # When the kernel describes it for the tutor
    summary = describe_error(error, "word[0] = 'j'\n", execution_count=3)
    # Then the summary is plain text
    assert "\x1b" not in summary
    assert summary.endswith("TypeError: 'str' object does not support item assignment")


@pytest.mark.parametrize(
    ("text", "limit", "out"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch…"),
        ("", 3, ""),
    ],
)
def test_clip_keeps_what_fits_and_marks_a_cut(text: str, limit: int, out: str) -> None:
    assert clip(text, limit) == out
    assert len(clip(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "The model service at 127.0.0.1:8999 did not answer within 20 s. Your message is saved.",
            "The model service did not answer within 20 s. Your message is saved.",
        ),
        (
            "Could not connect to the model service at llm.internal:8000 (connection refused or no route).",
            "Could not connect to the model service (connection refused or no route).",
        ),
        ("The model service at api.example.com failed (HTTP 500).", "The model service failed (HTTP 500)."),
        (
            "Proxy 10.1.2.3 refused; see https://status.example.org/x",
            "Proxy the model service refused; see the model service",
        ),
        (
            "The model service is rate limiting requests (HTTP 429).",
            "The model service is rate limiting requests (HTTP 429).",
        ),
        ("Try again at 10:30, cell In[7], line 2.", "Try again at 10:30, cell In[7], line 2."),
    ],
)
def test_without_addresses_keeps_the_sentence_and_drops_the_endpoint(text: str, shown: str) -> None:
    assert without_addresses(text) == shown
