"""Understanding a pasted Python traceback: which exception, on which line of the learner's code,
and why.

The explanations are the tutor's own knowledge of Python's built-in exceptions (they are facts about
Python, not about the course); the course tutor pairs them with the course section that teaches the
concept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutornb.plaintext import strip_ansi
from tutornb.tutors.pythonerrors import EXPLANATIONS, explanation_for

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


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -------------------------------------------------------------------------------------------------
# Diagnosis: the exception in terms of the learner's own line and values


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong, said with the learner's names, types and values; how to fix it (with code
    when the line allows it); and the words that find the course section on the concept."""

    info: TracebackInfo
    #: The learner's line that raised (from the traceback or their cell), if known.
    line: str | None
    meaning: str
    fix: str
    fix_code: str | None
    topic: str


def learner_line(info: TracebackInfo, code: str | None) -> str | None:
    """The line that raised: the traceback's, else the cell's line by number, else its last line."""
    if info.code_line:
        return info.code_line
    lines = [ln for ln in (code or "").splitlines()]
    if info.line_number and 0 < info.line_number <= len(lines) and lines[info.line_number - 1].strip():
        return lines[info.line_number - 1].strip()
    content = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return content[-1] if content else None


_ASSIGN_ITEM_RE = re.compile(r"^\s*([A-Za-z_][\w.]*)\[([^\]]+)\]\s*=\s*(.+)$")
_SUBSCRIPT_RE = re.compile(r"([A-Za-z_][\w.]*)\[([^\]\[]+)\]")
_BINARY_RE = re.compile(r"([A-Za-z_][\w.]*)\s*([-+*/@%]|\*\*)\s*([A-Za-z_][\w.]*)")
_ASSIGNED_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)
_IMMUTABLE = {"str": "string", "tuple": "tuple", "bytes": "bytes object", "frozenset": "frozenset"}


def _item_assignment(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    kind = re.search(r"'(\w+)' object does not support item assignment", info.message)
    if not kind:
        return None
    type_name = kind.group(1)
    assign = _ASSIGN_ITEM_RE.match(line or "")
    name, index, value = (
        (assign.group(1), assign.group(2).strip(), assign.group(3).strip()) if assign else ("it", "i", "new")
    )
    noun = _IMMUTABLE.get(type_name, f"`{type_name}` object")
    meaning = (
        f"`{name}` is a {noun} (`{type_name}`), and a {noun} is immutable: once created, its items "
        f"cannot be changed in place, so `{name}[{index}] = {value}` is refused."
    )
    if type_name == "str":
        rest = f"{name}[1:]" if index == "0" else f"{name}[:{index}] + {value} + {name}[{index} + 1:]"
        fix_code = f"{name} = {value} + {rest}" if index == "0" else f"{name} = {rest}"
        fix = f"Build a new string from pieces of the old one and assign it to `{name}` again:"
        topic = "string immutable index character slicing"
    elif type_name == "tuple":
        fix_code = f"{name} = list({name})\n{name}[{index}] = {value}"
        fix = (
            f"Use a list when the values must change (or build a new tuple): convert `{name}` with "
            "`list()` first:"
        )
        topic = "tuple modified immutable assign element list"
    else:
        fix_code = None
        fix = f"Build a new {noun} with the change instead of modifying `{name}` in place."
        topic = f"{type_name} immutable"
    return Diagnosis(info, line, meaning, fix, fix_code, topic)


def _broadcast(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    shapes = re.findall(r"\(([\d, ]*)\)", info.message)
    if (
        "broadcast" not in info.message
        and "not aligned" not in info.message
        and "mismatch" not in info.message
    ):
        return None
    binary = _BINARY_RE.search(line or "")
    left, operator, right = binary.groups() if binary else ("the left array", "+", "the right array")
    shown = [f"({s})" for s in shapes[:2]]
    if len(shown) == 2:
        meaning = f"`{left}` has shape {shown[0]} and `{right}` has shape {shown[1]}. "
    else:
        meaning = f"`{left}` and `{right}` have shapes that do not fit together. "
    if "not aligned" in info.message or "mismatch" in info.message or operator == "@":
        meaning += (
            "A matrix product needs the number of columns of the left operand to equal the number "
            "of rows of the right one."
        )
        fix = (
            f"Compare `{left}.shape` and `{right}.shape`; transpose one (`.T`) or reshape it so the "
            "inner sizes match."
        )
        topic = "matrix multiplication dot shape incompatible"
        fix_code = f"print({left}.shape, {right}.shape)"
    else:
        meaning += (
            f"Element-wise `{operator}` works on arrays of the same shape (or shapes that broadcast, "
            "such as a single number or a size-1 axis), and these are not."
        )
        fix = (
            "Print both shapes, then make them match: slice the longer one, or reshape one of "
            "them so they are compatible."
        )
        fix_code = f"print({left}.shape, {right}.shape)"
        topic = "shape element-wise array operations compatible shapes"
    return Diagnosis(info, line, meaning, fix, fix_code, topic)


def _conversion(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    literal = re.search(
        r"(?:invalid literal for (\w+)\(\) with base \d+|could not convert string to (\w+)): (.+)$",
        info.message,
    )
    if not literal:
        return None
    target = literal.group(1) or literal.group(2)
    value = literal.group(3).strip()
    assign = _ASSIGN_ITEM_RE.match(line or "")
    if assign and "," in assign.group(2):
        name = assign.group(1)
        meaning = (
            f"`{name}` is a numpy array whose elements are numbers ({target}); assigning {value} "
            f"would put text into it, and an array's type (its `dtype`) does not change."
        )
        fix = (
            f"Assign a number, or create the array with the type you need (see `{name}.dtype`, the "
            "`dtype=` argument)."
        )
        return Diagnosis(info, line, meaning, fix, None, "array dtype type assign element")
    meaning = f"Python was asked to turn the text {value} into a number ({target}), and it is not one."
    fix = "Print the value before converting it, and convert only text that holds a number."
    return Diagnosis(info, line, meaning, fix, None, "type casting convert int float string")


def _concatenate(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    found = re.search(r'can only concatenate (\w+) \(not "(\w+)"\) to \w+', info.message)
    operands = re.search(r"unsupported operand type\(s\) for (\S+): '(\w+)' and '(\w+)'", info.message)
    if found:
        want, got = found.groups()
        binary = _BINARY_RE.search(line or "")
        other = binary.group(3) if binary else "the value"
        meaning = f"`+` joins two {want}s, but one side is a `{got}`."
        fix_code = f"str({other})" if want == "str" else None
        fix = f"Convert the `{got}` first" + (f", e.g. `{fix_code}`." if fix_code else ".")
        return Diagnosis(info, line, meaning, fix, None, "string concatenate str type casting")
    if operands:
        operator, left, right = operands.groups()
        meaning = f"`{operator}` is not defined between a `{left}` and a `{right}`."
        fix = "Check the types with `type()` and convert one side so both have a type the operator accepts."
        return Diagnosis(info, line, meaning, fix, None, f"operators type casting {left} {right}")
    return None


def _name(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    found = re.search(r"name '(\w+)' is not defined", info.message)
    if not found:
        return None
    from rapidfuzz import process

    name = found.group(1)
    known = sorted(set(_ASSIGNED_RE.findall(code or "")))
    close = process.extractOne(name, known, score_cutoff=70) if known else None
    meaning = f"Python knows no variable `{name}` when it runs this line."
    if close:
        fix = f"Did you mean `{close[0]}`? Your cell assigns that name."
    else:
        fix = (
            f"Assign `{name}` before this line (or run the cell that defines it first), and check its "
            "spelling."
        )
    return Diagnosis(info, line, meaning, fix, None, "variable assign name defined NameError")


def _key(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    if info.exc_type != "KeyError":
        return None
    key = info.message.strip() or "the key"
    sub = _SUBSCRIPT_RE.search(line or "")
    name = sub.group(1) if sub else "the dictionary"
    meaning = (
        f"The key `{key}` is not in `{name}`: looking up a missing key with `[]` raises KeyError (keys "
        "are case sensitive)."
    )
    fix = (
        f"Check with `{key} in {name}` first, or use `{name}.get({key}, default)`, which gives the "
        "default instead of raising."
    )
    return Diagnosis(info, line, meaning, fix, f"{name}.get({key})", "KeyError missing key dictionary get")


def _index(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    if info.exc_type != "IndexError":
        return None
    sub = _SUBSCRIPT_RE.search(line or "")
    bounds = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", info.message)
    if bounds:
        index, axis, size = bounds.groups()
        meaning = (
            f"Axis {axis} of the array has {size} elements (indexes 0 to {int(size) - 1}), so index "
            f"{index} does not exist."
        )
    elif sub:
        name, index = sub.group(1), sub.group(2).strip()
        meaning = (
            f"`{name}` has no item at index `{index}`: indexes start at 0, so the last one is "
            f"`len({name}) - 1`."
        )
    else:
        meaning = "The sequence has no item at that position: indexes start at 0."
    fix = "Check the length first, or use `-1` for the last item."
    fix_code = f"{sub.group(1)}[-1]" if sub else None
    kind = re.match(r"(\w+) index out of range", info.message)
    topic = f"{kind.group(1)} index element indexing start" if kind else "array index element shape"
    return Diagnosis(info, line, meaning, fix, fix_code, topic)


def _attribute(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    found = re.search(r"'(\w+)' object has no attribute '(\w+)'", info.message)
    if not found:
        return None
    kind, attribute = found.groups()
    extra = (
        " (a `None` usually comes from a function or method that changes things in place and returns nothing)"
        if kind == "NoneType"
        else ""
    )
    meaning = f"The value is a `{kind}`{extra}, and a `{kind}` has no `{attribute}`."
    fix = f"Check the value's type with `type()` and the spelling of `{attribute}`."
    return Diagnosis(info, line, meaning, fix, None, f"{kind} method attribute")


def _call_type(info: TracebackInfo, line: str | None, code: str | None) -> Diagnosis | None:
    found = re.search(r"'(\w+)' object is not (subscriptable|callable|iterable)", info.message)
    if found:
        kind, what = found.groups()
        verb = {
            "subscriptable": "indexed with `[]`",
            "callable": "called with `()`",
            "iterable": "looped over",
        }[what]
        meaning = f"A `{kind}` cannot be {verb}, and this line tries to."
        fix = (
            "Check which value on the line has that type (`type(value)`); a variable may hide a function "
            "or hold a number where you expected a list."
        )
        return Diagnosis(info, line, meaning, fix, None, f"{kind} type")
    positional = re.search(r"(\w+)\(\) (missing|takes) .*argument", info.message)
    if positional:
        meaning = (
            f"The call does not match the parameters of `{positional.group(1)}`: {_quote(info.message)}."
        )
        fix = f"Compare the call with the `def {positional.group(1)}(...)` line and pass each parameter once."
        return Diagnosis(info, line, meaning, fix, None, "function arguments default keyword")
    return None


_RULES = (
    _item_assignment,
    _broadcast,
    _conversion,
    _concatenate,
    _name,
    _key,
    _index,
    _attribute,
    _call_type,
)


def diagnose(info: TracebackInfo, code: str | None = None) -> Diagnosis:
    """The exception explained with the learner's line (from the traceback or ``code``, their
    cell): the first rule that recognises Python's message, else Python's general meaning of the
    exception type."""
    line = learner_line(info, code)
    for rule in _RULES:
        found = rule(info, line, code)
        if found is not None:
            return found
    general = explanation_for(info.exc_type)
    return Diagnosis(info, line, general.meaning, general.fix, None, general.topic)


def code_words(line: str | None) -> str:
    """Identifiers from the learner's line, to find the section about what that code does."""
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line or "")
    return " ".join(w for w in names if len(w) > 2 and w not in _BUILTIN_NAMES)


#: Names on almost every line: they find every section, so they find none.
_BUILTIN_NAMES = frozenset({"print", "len", "range", "type", "str", "int", "float", "True", "False", "None"})


def search_query(diagnosis: Diagnosis) -> str:
    """The words to look the error up in the course with: the concept behind the exception, and
    the names on the learner's line."""
    return " ".join([diagnosis.topic, code_words(diagnosis.line)])
