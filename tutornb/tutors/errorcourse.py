"""Errors read against the course: the learner's own code and error matched with the course's
text, code and saved outputs, not only with a per-exception template.

An error reaches the tutor three ways: a pasted traceback, an error named inside a question ("my
code ... gives TypeError: 'NoneType' object is not subscriptable"), or the learner's attached work.
The course is then searched (words and meaning, ``retrieval.py``) with the exception, Python's
message and the learner's code, and a passage is preferred when it shows the same thing:

* the same *shape* of statement as the learner's (``nums = nums.sort()`` and the course's warning
  about ``scores = scores.sort()``: the same name assigned the result of its own method call), or
* the same exception in a saved output of its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from tutornb.models import LearnerWork
from tutornb.tutors import errorhelp
from tutornb.tutors.errorhelp import Diagnosis, TracebackInfo
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import CONCEPTS, is_tool_passage
from tutornb.tutors.pythonerrors import explanation_for
from tutornb.tutors.retrieval import Hit, Passage, preference, same_content
from tutornb.tutors.terms import code_fragments, squash

#: "TypeError: message" anywhere in a sentence (not only on a line of its own).
_INLINE_ERROR_RE = re.compile(
    r"\b([A-Z][A-Za-z0-9_]*(?:Error|Exception|Warning))\b(?::\s*([^\n]*?))?\s*(?:$|\n|\?)", re.MULTILINE
)
#: A statement assigning a name the result of a method called on that same name.
_SELF_ASSIGN_RE = re.compile(r"\b([A-Za-z_]\w*)\s*=\s*\1\s*\.\s*([A-Za-z_]\w*)\s*\(")
#: A piece of text that reads as code: an assignment, a call or a subscript.
_CODE_LIKE_RE = re.compile(r"[A-Za-z_][\w.]*\s*(?:=|\(|\[)")
#: Words before the code in "my code: ..." and after it in "... gives X".
_LEAD_RE = re.compile(r"^[^:=()\[\]]{0,40}:\s*")
_TRAIL_RE = re.compile(r"\s+(?:gives|raises|throws|returns|fails|and)\b.*$", re.IGNORECASE)


@dataclass(frozen=True)
class LearnerError:
    diagnosis: Diagnosis
    #: The learner's code, from their work or read out of their message.
    code: str


def inline_error(text: str) -> TracebackInfo | None:
    """An exception named inside a question, with Python's message when it is given."""
    if errorhelp.looks_like_traceback(text):
        return None
    for match in _INLINE_ERROR_RE.finditer(text):
        name, message = match.group(1), (match.group(2) or "").strip().rstrip(".")
        # Only Python's own form, "TypeError: message": a question that names an exception ("how
        # do I avoid a KeyError") is a question about it, not an error to explain.
        if message:
            return TracebackInfo(exc_type=name, message=message, code_line=None, line_number=None)
    return None


def code_in_text(text: str) -> str:
    """The code a learner typed inside a sentence, one statement a line ("nums = [3,1,2];
    nums = nums.sort(); print(nums[0])")."""
    found = _INLINE_ERROR_RE.search(text)
    before = text[: found.start()] if found else text
    statements = []
    for piece in re.split(r"[;\n]", before):
        piece = _TRAIL_RE.sub("", _LEAD_RE.sub("", piece.strip())).strip()
        if piece and _CODE_LIKE_RE.search(piece) and len(piece.split()) <= 12:
            statements.append(piece)
    return "\n".join(statements)


#: Code in backticks that is really prose ("use `the dictionary.get(key)`"): a template's
#: placeholder that the learner's line did not fill.
_CODE_SPAN_RE = re.compile(r"`([^`\n]+)`")
_PROSE_IN_CODE_RE = re.compile(r"\bthe [a-z]+\b")


def filled(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis, or Python's general meaning of the exception when a template's placeholder
    was left unfilled: no placeholder reaches the learner."""
    said = " ".join([diagnosis.meaning, diagnosis.fix, diagnosis.fix_code or ""])
    if not any(_PROSE_IN_CODE_RE.search(span) for span in _CODE_SPAN_RE.findall(said)):
        return diagnosis
    general = explanation_for(diagnosis.info.exc_type)
    return replace(diagnosis, meaning=general.meaning, fix=general.fix, fix_code=None)


def learner_error(text: str, work: LearnerWork | None) -> LearnerError | None:
    """The error of a turn: a pasted traceback, an error named in the question, else the error of
    the learner's attached work; diagnosed with the learner's own code."""
    info = errorhelp.parse_traceback(text) if errorhelp.looks_like_traceback(text) else None
    code = work.code if work is not None else ""
    if info is None:
        info = inline_error(text)
        if info is not None and not code:
            code = code_in_text(text)
    if info is None and work is not None and work.error:
        info = errorhelp.parse_traceback(work.error)
    if info is None:
        return None
    if not code and info.code_line:
        code = info.code_line
    return LearnerError(filled(errorhelp.diagnose(info, code or None)), code)


def shapes(code: str) -> set[str]:
    """The statement shapes of some code that name a common mistake, without the names used."""
    return {f"self-assign:{method}" for _, method in _SELF_ASSIGN_RE.findall(code)}


#: A piece of the learner's code this long (without spaces) found in a passage's code is the same
#: code, not a coincidence of names.
MIN_FRAGMENT = 6


def fragments(code: str) -> set[str]:
    """Pieces of the learner's code to look for in the course's, without spaces: each statement,
    the value of each assignment, and each call or subscript."""
    found: set[str] = set()
    for line in code.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("def ", "class ", "import ", "from ")):
            continue
        found.add(squash(line))
        assigned = re.match(r"^[A-Za-z_][\w.]*\s*=(?!=)\s*(.+)$", line)
        if assigned:
            found.add(squash(assigned.group(1)))
        found.update(code_fragments(line))
    return {f for f in found if len(f) >= MIN_FRAGMENT}


def same_code(error: LearnerError, passage: Passage) -> bool:
    code = squash(passage_code(passage))
    return any(f in code for f in fragments(error.code))


def passage_code(passage: Passage) -> str:
    inline = " ".join(re.findall(r"`([^`\n]+)`", passage.text))
    return "\n".join([inline, *(e.source for e in passage.examples)])


def shows_error(passage: Passage, exc_type: str) -> bool:
    """A saved output of the passage's code shows this exception."""
    return any(e.output and exc_type in e.output for e in passage.examples)


def query_for(error: LearnerError, text: str) -> str:
    """What the course is searched with: the concept behind the exception, Python's message, the
    learner's code and their own words."""
    d = error.diagnosis
    prose = text if not errorhelp.looks_like_traceback(text) else ""
    return " ".join(
        p for p in (d.topic, d.info.exc_type, d.info.message, errorhelp.code_words(error.code), prose) if p
    )


def evidence(error: LearnerError, passage: Passage) -> int:
    """How surely a passage shows the learner's error: 2 for the same statement shape, 1 for the
    same code as the learner's, 1 for the same exception in a saved output (they add)."""
    same_shape = bool(shapes(error.code) & shapes(passage_code(passage)))
    return 2 * same_shape + same_code(error, passage) + shows_error(passage, error.diagnosis.info.exc_type)


def showing(lesson: Lesson, error: LearnerError) -> list[Passage]:
    """Every passage of the course whose code has the learner's mistake's shape, or whose saved
    output shows Python's very message: read directly, since words may not find them."""
    mistakes = shapes(error.code)
    message = error.diagnosis.info.message
    found: list[Passage] = []
    for info in lesson.material.course:
        for passage in info.passages:
            if passage.kind not in CONCEPTS or is_tool_passage(passage):
                continue
            if (
                (mistakes and mistakes & shapes(passage_code(passage)))
                or (len(message) >= 12 and any(e.output and message in e.output for e in passage.examples))
                or same_code(error, passage)
            ):
                found.append(passage)
    current = lesson.module.path
    chosen: dict[object, Passage] = {}
    for passage in found:
        key = same_content(passage)
        if key not in chosen or preference(passage, current) < preference(chosen[key], current):
            chosen[key] = passage
    return list(chosen.values())


def course_sections(lesson: Lesson, error: LearnerError, text: str, *, limit: int = 8) -> list[Hit]:
    """Course sections for the error: the search's, then those that show the learner's mistake,
    their code or Python's message (read directly); the one with the learner's mistake first."""
    hits = lesson.search(query_for(error, text), kinds=CONCEPTS, limit=limit)
    hits = [h for h in hits if not is_tool_passage(h.passage)]
    searched = {(h.passage.notebook_path, h.passage.cell_index) for h in hits}
    hits += [
        Hit(p, 0.0, 0.0, ())
        for p in showing(lesson, error)
        if (p.notebook_path, p.cell_index) not in searched
    ]
    # Only the learner's very mistake (its statement shape) moves a section ahead of the search's
    # order: a section that merely shows the same code or exception may show the failure, not the fix.
    ranked = sorted(enumerate(hits), key=lambda item: (not same_mistake(error, item[1].passage), item[0]))
    return [h for _, h in ranked]


def same_mistake(error: LearnerError, passage: Passage) -> bool:
    return bool(shapes(error.code) & shapes(passage_code(passage)))


def mistake_excerpt(error: LearnerError, passage: Passage) -> list[str]:
    """The paragraphs of a passage that show the learner's mistake (its statement shape in their
    inline code), or none."""
    mistakes = shapes(error.code)
    if not mistakes:
        return []
    return [p for p in passage.paragraphs() if mistakes & shapes(" ".join(re.findall(r"`([^`\n]+)`", p)))]
