"""Quoting the course so that it explains: the part of a section that answers (sentence by sentence
when the section is long), its worked example with the output the notebook saved, and never a
question the course asks ("Did Python get this wrong?") without the answer that follows it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tutornb.models import Citation
from tutornb.tutors import semantic
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import cell_label
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import Example, Hit, Passage
from tutornb.tutors.terms import code_fragments, squash, tokenize

#: A section longer than this is quoted sentence by sentence, not paragraph by paragraph.
LONG_SECTION_CHARS = 600
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\"'])")


def _is_question(text: str) -> bool:
    return text.rstrip().rstrip("*_").endswith("?")


#: How much a unit's similarity in meaning to the question (a cosine, 0-1) counts against one
#: shared term when picking what to quote.
MEANING_PER_TERM = 3.0


def _meaning(units: list[str], query: str) -> list[float]:
    """Each unit's similarity in meaning to the question (zeros without the model)."""
    embedder = semantic.model() if query.strip() and semantic.loaded() else None
    if embedder is None:
        return [0.0] * len(units)
    vectors = embedder.embed(units)
    return [round(float(v), 4) for v in vectors @ embedder.embed([query])[0]]


def _pick(units: list[str], terms: list[str], limit: int, query: str = "") -> list[str]:
    """The units that answer the question best (shared terms, and meaning), in reading order; a
    unit that asks a question brings the one that answers it."""
    if len(units) <= limit:
        return units
    wanted = set(terms)
    meaning = _meaning(units, query)
    scored = [
        (len(wanted & set(tokenize(u))) + MEANING_PER_TERM * meaning[i], i) for i, u in enumerate(units)
    ]
    chosen = {i for _, i in sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]}
    if all(scored[i][0] <= 0 for i in chosen):
        chosen = set(range(limit))
    for i in sorted(chosen):
        if _is_question(units[i]) and i + 1 < len(units):
            chosen.add(i + 1)
    return [units[i] for i in sorted(chosen)]


def passage_excerpt(passage: Passage, terms: list[str], limit: int = 3, *, query: str = "") -> list[str]:
    """The paragraphs (or, in a long section, the sentences) of a passage that answer."""
    paragraphs = passage.paragraphs()
    picked = _pick(paragraphs, terms, limit, query)
    if sum(len(p) for p in picked) <= LONG_SECTION_CHARS:
        return picked
    sentences = [s.strip() for p in paragraphs for s in _SENTENCE_RE.split(p) if s.strip()]
    return [" ".join(_pick(sentences, terms, limit + 1, query))]


def best_example(passage: Passage, terms: list[str]) -> Example | None:
    """The passage's worked example that shares most terms with the question (the first on a
    tie)."""
    if not passage.examples:
        return None
    wanted = set(terms)
    return max(passage.examples, key=lambda e: (len(wanted & set(tokenize(e.source))), -e.cell_index))


def answering_example(
    passages: list[Passage], terms: list[str], query: str
) -> tuple[Passage, Example] | None:
    """Of the quoted passages' worked examples, the one that answers best: one holding a piece of
    code the question quotes verbatim, then shared terms and meaning (of its code and saved
    output); the first on a tie."""
    candidates = [(p, e) for p in passages for e in p.examples]
    if not candidates:
        return None
    wanted = set(terms)
    quoted = code_fragments(query)
    texts = [f"{e.source}\n{e.output or ''}" for _, e in candidates]
    meaning = _meaning(texts, query) if query and len(texts) > 1 else [0.0] * len(texts)

    def value(i: int) -> tuple[bool, float, int]:
        source = candidates[i][1].source
        holds = any(f in squash(source) for f in quoted)
        return (holds, len(wanted & set(tokenize(source))) + MEANING_PER_TERM * meaning[i], -i)

    return candidates[max(range(len(candidates)), key=value)]


def show_example(reply: Reply, passage: Passage, example: Example) -> None:
    reply.say(f"**Worked example** ({cell_label(example.cell_index)}):", "```python", example.source, "```")
    if example.output:
        reply.say("Running it shows:", "```text", example.output, "```")
    else:
        reply.say("Run that cell, then change a value and run it again to see what changes.")
    reply.cite(
        Citation(notebook_path=passage.notebook_path, cell_index=example.cell_index, heading=passage.heading)
    )


def continuation(lesson: Lesson, passage: Passage) -> list[Passage]:
    """The passage and the ones that continue its section: a section written as several
    markdown cells (each with its code) is one section, split into passages that share its
    heading."""
    info = lesson.material.module_of(passage.notebook_path)
    if info is None:
        return [passage]
    passages = list(info.passages)
    try:
        at = passages.index(passage)
    except ValueError:
        return [passage]
    start = at
    while start > 0 and passages[start - 1].heading == passage.heading:
        start -= 1
    end = at + 1
    while end < len(passages) and passages[end].heading == passage.heading:
        end += 1
    return passages[start:end]


#: At most this many passages of one section are read for the answer.
SECTION_PASSAGES = 8
#: A model is given at most this many passages of the best hit's section besides the hits.
SECTION_FOR_MODEL = 3


def with_section(lesson: Lesson, hits: list[Hit]) -> list[Hit]:
    """The hits a model is given, with the rest of the best hit's section (the passages that
    continue it under the same heading, nearest first) after them: the course tutor reads the
    whole section for its answer, and so should the model."""
    if not hits:
        return hits
    best = hits[0].passage
    section = continuation(lesson, best)
    given = {h.passage for h in hits}
    at = section.index(best) if best in section else 0
    nearest = sorted((p for p in section if p not in given), key=lambda p: abs(section.index(p) - at))
    return [*hits, *(replace(hits[0], passage=p) for p in nearest[:SECTION_FOR_MODEL])]


def _section_answer(
    section: list[Passage], best: Passage, terms: list[str], query: str
) -> list[tuple[Passage, str]]:
    """The two paragraphs of a section that answer best (words and meaning), in reading order;
    the passage the search found counts a little more."""
    units = [(p, paragraph) for p in section[:SECTION_PASSAGES] for paragraph in p.paragraphs()]
    texts = [u for _, u in units]
    meaning = _meaning(texts, query)
    wanted = set(terms)
    scored = [
        (len(wanted & set(tokenize(text))) + MEANING_PER_TERM * meaning[i] + 0.5 * (units[i][0] == best), i)
        for i, text in enumerate(texts)
    ]
    chosen = {i for _, i in sorted(scored, key=lambda s: (-s[0], s[1]))[:3]}
    for i in sorted(chosen):
        if _is_question(texts[i]) and i + 1 < len(texts):
            chosen.add(i + 1)  # a question the course asks comes with the answer that follows it
    return [units[i] for i in sorted(chosen)]


def teach_passage(
    reply: Reply, lesson: Lesson, passage: Passage, terms: list[str], *, query: str = "", lead: bool = True
) -> None:
    """A passage quoted from the notebook with its best worked example: the tutor never
    paraphrases into something the course does not say. ``query`` (the question) picks the
    sentences by meaning as well as by words, across the whole section the passage belongs to;
    ``lead`` names the section first. Every passage quoted is cited."""
    if lead:
        reply.say(f"From {lesson.source(passage)}:", "")
    section = continuation(lesson, passage) if query else [passage]
    if len(section) == 1:
        for part in passage_excerpt(passage, terms, query=query):
            reply.say(part, "")
        reply.cite(passage)
        quoted = [passage]
    else:
        picked = _section_answer(section, passage, terms, query)
        # The passage the search found is cited first: the reply is introduced by its name.
        reply.cite(passage)
        quoted = [passage]
        for source, paragraph in picked:
            reply.say(paragraph, "")
            if source not in quoted:
                quoted.append(source)
                reply.cite(source)
    found = answering_example(quoted, terms, query)
    if found is not None:
        show_example(reply, *found)
