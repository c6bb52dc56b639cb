"""One course's passages ready to search: their word documents (for BM25), the course vocabulary
(for typo correction), the terms of its code and headings, and (once the model is loaded) their
embeddings. ``retrieval.CourseIndex`` builds one per course and searches it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from tutornb.tutors.bm25 import Bm25
from tutornb.tutors.notebook import Passage
from tutornb.tutors.terms import code_terms as tokenize_code
from tutornb.tutors.terms import markdown_terms, normal, squash, tokenize, words


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    #: Share of the question's weight (idf) found in the passage: 1.0 means every question word is
    #: there.
    coverage: float
    matched: tuple[str, ...]
    #: The query's terms as searched (typos corrected, a long message reduced to its key terms).
    terms: tuple[str, ...] = ()
    #: The passage's heading names a rare term of the query that is also a name in the course's
    #: code: the question names this section's topic ("how do I use linspace?" and the section
    #: "linspace and logspace").
    names_topic: bool = False
    #: Cosine similarity of the question and the passage by meaning (0 when no model is loaded).
    similarity: float = 0.0
    #: The reciprocal-rank-fusion score the hit was ordered by (0 when ranked by words alone).
    fused: float = 0.0
    #: How far the passage stands out by meaning: its similarity minus the fifth best in the
    #: course (a question near one section and no other is about that section).
    distinct: float = 0.0


def document_terms(passage: Passage) -> Counter[str]:
    # The heading counts twice: it names what the section is about.
    tokens = markdown_terms(passage.heading) * 2 + markdown_terms(passage.text)
    for example in passage.examples:
        tokens.extend(tokenize(example.source, meanings=False))
    return Counter(tokens)


def meaning_text(passage: Passage) -> str:
    """What a passage is embedded as: its heading, its prose, then its code (truncated by the
    embedder: the opening says what the section is about)."""
    return "\n".join([passage.heading, passage.text, *(e.source for e in passage.examples)])


def surface_words(passage: Passage) -> Counter[str]:
    """The folded words a passage is written with: what a misspelt word is compared against."""
    text = " ".join([passage.heading, passage.text, *(e.source for e in passage.examples)])
    return Counter(w for w in words(text) if len(w) >= 3)


#: A term in at most this many passages is rare enough to name a section's topic.
RARE_DF = 3
#: A message with more distinct terms than this is reduced to its key terms before ranking.
KEY_TERMS = 8
#: Reciprocal rank fusion's constant: small, because a course has tens to hundreds of passages and
#: the first ranks are what matter.
RRF_K = 10
#: How many passages by meaning join the candidates (besides every passage sharing a word).
SEMANTIC_CANDIDATES = 24


@dataclass
class Ranker:
    passages: list[Passage]
    documents: list[Counter[str]]
    bm25: Bm25
    #: Folded course words, most frequent first, and the term each one searches as.
    vocabulary: list[str] = field(default_factory=list)
    term_of: dict[str, str] = field(default_factory=dict)
    _code: dict[int, str] = field(default_factory=dict)
    _headings: dict[int, set[str]] = field(default_factory=dict)
    _code_terms: set[str] | None = None
    #: The notebooks the passages come from, in order, and their unit vectors (rows in passage
    #: order), stacked on first use.
    paths: list[str] = field(default_factory=list)
    vectors: Any = None

    def code(self, doc_id: int) -> str:
        """The passage's code (examples and inline code), without spaces, for fragment matches."""
        cached = self._code.get(doc_id)
        if cached is None:
            passage = self.passages[doc_id]
            inline = " ".join(re.findall(r"`([^`\n]+)`", passage.text))
            cached = squash(" ".join([inline, *(e.source for e in passage.examples)]))
            self._code[doc_id] = cached
        return cached

    def code_terms(self) -> set[str]:
        """Terms that occur in the course's code: names of functions, methods and variables."""
        if self._code_terms is None:
            self._code_terms = {
                t for p in self.passages for e in p.examples for t in tokenize(e.source, meanings=False)
            }
        return self._code_terms

    def overview(self, doc_id: int) -> bool:
        """A list of what is to come (mostly bullet points, no code): it names topics without
        explaining any, like a notebook's introduction."""
        passage = self.passages[doc_id]
        lines = [ln.strip() for ln in passage.text.splitlines() if ln.strip()]
        bullets = sum(ln.startswith(("* ", "- ", "+ ")) for ln in lines)
        return not passage.examples and len(lines) >= 3 and bullets * 2 >= len(lines)

    def heading_terms(self, doc_id: int) -> set[str]:
        cached = self._headings.get(doc_id)
        if cached is None:
            cached = set(markdown_terms(self.passages[doc_id].heading))
            self._headings[doc_id] = cached
        return cached

    def correct(self, word: str) -> str | None:
        """The course term a misspelt word most likely means (edit distance with transpositions:
        1 for short words, 2 from 7 letters), or None."""
        if len(word) < 5 or not self.vocabulary:
            return None
        limit = 1 if len(word) < 7 else 2
        # A typo keeps the word's first letter and (nearly) its length: "realised" is no "raised".
        for candidate, _, _ in process.extract(
            word, self.vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=5
        ):
            if candidate[0] == word[0] and abs(len(candidate) - len(word)) <= 1:
                return self.term_of[candidate]
        return None

    def analyze(self, query: str, *, known_only: bool = False) -> list[str]:
        """The query's terms as the course spells them: a word the course never uses is replaced
        by the course word it is a typo of; a long message keeps only its key terms (those the
        course has), so its length does not dilute what it asks. ``known_only`` keeps only terms
        the course has whatever the length (a message in another language: its code terms)."""
        terms: list[str] = []
        found = words(query)
        skip = False
        for position, word in enumerate(found):
            if skip:
                skip = False
                continue
            term = normal(word)
            joined = normal(word + found[position + 1]) if position + 1 < len(found) else None
            if joined is not None and joined in self.bm25.postings and term not in self.bm25.postings:
                terms.append(joined)  # "doc strings" is the course's "docstrings"
                skip = True
                continue
            if term is None:
                continue
            if term not in self.bm25.postings:
                term = self.correct(word) or term
            terms.append(term)
        # An operator the course never uses matches nothing: its plain words still count.
        terms.extend(t for t in tokenize_code(query) if ":" not in t or t in self.bm25.postings)
        if known_only or len(set(terms)) > KEY_TERMS:
            terms = [t for t in terms if t in self.bm25.postings]
        return terms
