"""Understanding a pasted Python traceback: which exception, on which line of the learner's code,
and why.

The explanations are the tutor's own knowledge of Python's built-in exceptions (they are facts about
Python, not about the course); the course tutor pairs them with the course section that teaches the
concept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_EXC_LINE_RE = re.compile(
    r"^\s*(?:[A-Za-z_][\w]*\.)*([A-Z][A-Za-z0-9_]*(?:Error|Exception|Warning|Interrupt|Exit|Iteration))"
    r"(?::\s*(.*))?\s*$"
)
_IPY_ARROW_RE = re.compile(r"^\s*-+>\s*(\d+)\s?(.*)$")
_FILE_LINE_RE = re.compile(
    r'^\s*(?:File\s+"[^"]*",\s*line\s+(\d+)|Cell\s+In\s*\[\d*\],\s*line\s+(\d+)|'
    r"Input\s+In\s*\[\d*\],.*line\s+(\d+))"
)


@dataclass(frozen=True)
class TracebackInfo:
    exc_type: str
    message: str
    #: The line of the learner's code that raised, when the traceback shows it.
    code_line: str | None
    line_number: int | None


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def looks_like_traceback(text: str) -> bool:
    clean = strip_ansi(text)
    if "Traceback (most recent call last)" in clean:
        return True
    return any(
        (m := _EXC_LINE_RE.match(line)) is not None and m.group(1) in EXPLANATIONS
        for line in clean.splitlines()
        if ":" in line
    )


def parse_traceback(text: str) -> TracebackInfo | None:
    """The exception (last matching line) and the last code line the traceback points at."""
    lines = strip_ansi(text).splitlines()
    exc: tuple[str, str] | None = None
    exc_at = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        match = _EXC_LINE_RE.match(lines[i])
        if match and (match.group(2) is not None or match.group(1) in EXPLANATIONS):
            exc = (match.group(1), (match.group(2) or "").strip())
            exc_at = i
            break
    if exc is None:
        return None
    code_line: str | None = None
    line_number: int | None = None
    for i in range(exc_at):
        line = lines[i]
        arrow = _IPY_ARROW_RE.match(line)
        if arrow:
            code_line, line_number = arrow.group(2).strip() or None, int(arrow.group(1))
            continue
        file_match = _FILE_LINE_RE.match(line)
        if file_match:
            number = next((g for g in file_match.groups() if g), None)
            line_number = int(number) if number else None
            following = lines[i + 1].strip() if i + 1 < exc_at else ""
            if (
                following
                and not _FILE_LINE_RE.match(following)
                and not _IPY_ARROW_RE.match(following)
                and not re.match(r"^\d+\s", following)
            ):
                code_line = following
    if code_line and set(code_line) <= set("^~ "):
        code_line = None
    return TracebackInfo(exc_type=exc[0], message=exc[1], code_line=code_line, line_number=line_number)


@dataclass(frozen=True)
class Explanation:
    meaning: str
    fix: str
    #: Words that find the course section teaching the concept behind the error.
    topic: str


EXPLANATIONS: dict[str, Explanation] = {
    "IndexError": Explanation(
        "Python was asked for a position that the sequence does not have. Indexes start at 0, so "
        "a list of n items has indexes 0 to n - 1.",
        "Check the length with `len()` before indexing, use `-1` for the last item, or loop over "
        "the items directly instead of counting positions by hand.",
        "index list out of range indexing",
    ),
    "KeyError": Explanation(
        "The dictionary has no entry for that key. Looking up a missing key with square brackets "
        "raises KeyError; keys are also case sensitive.",
        "Check with `key in dictionary` first, or use `dictionary.get(key, default)`, which "
        "returns the default instead of raising.",
        "keyerror missing key dictionary get",
    ),
    "NameError": Explanation(
        "Python knows no variable or function with that name at this point: usually a typo, or a "
        "cell that defines it has not been run yet.",
        "Check the spelling against where the name is assigned, and run the cell that defines it "
        "first (or Restart and Run All to run everything in order).",
        "nameerror variable name not defined",
    ),
    "TypeError": Explanation(
        "An operation or function received a value of a type it cannot work with, or a function "
        "was called with the wrong number of arguments.",
        "Look at the types of the values on that line (`type(value)` tells you), convert them "
        "with `int()`, `str()` or `float()` if needed, and compare the call with the function's "
        "parameters.",
        "typeerror type argument str int",
    ),
    "ValueError": Explanation(
        "The value has the right type but an unsuitable content, for example "
        '`int("abc")`: text that is not '
        "a number.",
        "Print the value just before that line to see what it really contains, and check it "
        "before converting.",
        "type convert int str value",
    ),
    "AttributeError": Explanation(
        "The value has no method or attribute with that name: either a typo, or the value is not "
        "the type you expected (often `None`, returned by a function or method that changes "
        "things in place).",
        "Check the value's type with `type()`, and the spelling of the method. Remember that "
        "methods like `list.sort()` return `None`.",
        "method return none sort append",
    ),
    "ZeroDivisionError": Explanation(
        "A number was divided by zero, which has no result.",
        "Check the divisor before dividing, for example that a list is not empty before computing "
        "an average with `len()`.",
        "average len divide total",
    ),
    "UnboundLocalError": Explanation(
        "A variable is assigned somewhere inside the function, which makes it local for the whole "
        "function, but it was read before that assignment.",
        "Pass the value in as an argument and return the result, instead of changing a global "
        "variable from inside the function.",
        "scope local global variable function unboundlocalerror",
    ),
    "SyntaxError": Explanation(
        "Python could not read the code: something is missing or misplaced, such as a colon, a "
        "closing bracket or quote.",
        "Look at the line shown (and the one before it) for a missing `:`, `)`, `]` or quote.",
        "def colon function syntax",
    ),
    "IndentationError": Explanation(
        "The indentation does not match what Python expects: a block after a line ending with `:` "
        "must be indented, and lines of one block must line up.",
        "Indent the body of `for`, `if` and `def` blocks consistently (4 spaces is the convention).",
        "indented block loop def",
    ),
    "RecursionError": Explanation(
        "A function kept calling itself (directly or indirectly) without ever stopping.",
        "Make sure the function has a case that returns without calling itself again.",
        "function call return",
    ),
    "ModuleNotFoundError": Explanation(
        "Python could not find a module with that name to import: a typo, or the package is not "
        "installed in this kernel's environment.",
        "Check the spelling; install the package into the kernel's environment if it is a third-party one.",
        "import module",
    ),
    "ImportError": Explanation(
        "The import failed: the module exists but does not provide that name, or it failed while loading.",
        "Check the spelling of the imported name and the module's documentation.",
        "import module",
    ),
    "FileNotFoundError": Explanation(
        "No file exists at that path, relative to the notebook's working folder.",
        "Check the file name and the folder the notebook runs in.",
        "file open path",
    ),
    "StopIteration": Explanation(
        "`next()` was called on an iterator that has no items left.",
        "Loop over the iterator with `for`, which stops by itself, or give `next()` a default.",
        "loop for items",
    ),
    "AssertionError": Explanation(
        "An `assert` statement found its condition false: the code expected something that was not true.",
        "Print the values the assertion checks to see which one differs from what you expected.",
        "check condition",
    ),
    "OverflowError": Explanation(
        "A number became too large to represent (this happens with floats, not with Python's integers).",
        "Use integers where you can, or check the computation for a value that grows without bound.",
        "number float int",
    ),
}

_GENERIC = Explanation(
    "Python stopped because of this exception. The last line of a traceback names the exception "
    "type and says what went wrong; the lines above it show where.",
    "Read the line marked with the arrow, print the values it uses just before it, and compare "
    "them with what you expected.",
    "error traceback message",
)


def explanation_for(exc_type: str) -> Explanation:
    return EXPLANATIONS.get(exc_type, _GENERIC)


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def specific_detail(info: TracebackInfo) -> str | None:
    """One sentence tying the exception to the learner's own code, where the message allows it."""
    msg = info.message
    line = info.code_line or ""
    if info.exc_type == "IndexError":
        sub = re.search(r"([A-Za-z_][\w.]*)\[([^\]\[]+)\]", line)
        if sub:
            return (
                f"`{sub.group(1)}` has no item at index `{sub.group(2).strip()}`: it is shorter "
                "than that "
                f"index needs (`len({sub.group(1)})` shows its length)."
            )
        return None
    if info.exc_type == "KeyError":
        key = msg.strip() or None
        sub = re.search(r"([A-Za-z_][\w.]*)\[", line)
        if key and sub:
            return f"The key `{_quote(key, 60)}` is not in `{sub.group(1)}`."
        if key:
            return f"The key `{_quote(key, 60)}` is not in the dictionary."
        return None
    if info.exc_type in {"NameError", "UnboundLocalError"}:
        name = re.search(r"'([^']+)'", msg)
        if name:
            if info.exc_type == "NameError":
                return f"Python does not know the name `{name.group(1)}` when it runs this line."
            return f"`{name.group(1)}` is assigned inside the function, so reading it earlier fails."
        return None
    if info.exc_type == "AttributeError":
        attr = re.search(r"'([^']+)' object has no attribute '([^']+)'", msg)
        if attr:
            kind, attribute = attr.groups()
            extra = (
                " (a `None` usually comes from a function that returns nothing)" if kind == "NoneType" else ""
            )
            return f"The value is a `{kind}`{extra}, and `{kind}` has no `{attribute}`."
        return None
    if info.exc_type == "TypeError":
        if "concatenate" in msg or "unsupported operand" in msg:
            return "The two sides of the operator have different types, for example text and a number."
        if "required positional argument" in msg or "positional argument" in msg:
            return f"The call does not match the function's parameters: {_quote(msg)}."
        if "unhashable" in msg:
            return (
                "A mutable value (like a list) was used as a dictionary key or set item; use a tuple instead."
            )
        if "NoneType" in msg:
            return "A value on this line is `None`, often returned by a function that only prints."
        if "not callable" in msg:
            return (
                "Something that is not a function is being called with `()`; a variable may hide a function."
            )
        return None
    if info.exc_type == "ValueError" and "invalid literal" in msg:
        return "The text being converted to a number contains characters that are not digits."
    if info.exc_type == "ZeroDivisionError" and line:
        return "The divisor on this line is zero; an empty list gives `len(...) == 0`."
    return None


def code_words(info: TracebackInfo) -> str:
    """Identifiers from the learner's line, to find the section about what that code does."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", info.code_line or "")
    return " ".join(w for w in words if len(w) > 2)


def search_query(info: TracebackInfo) -> str:
    """The words to look the error up in the course with: the concept behind the exception, the
    exception and its message, and the names on the learner's line."""
    topic = explanation_for(info.exc_type).topic
    return " ".join([topic, info.exc_type, info.message, code_words(info)])
