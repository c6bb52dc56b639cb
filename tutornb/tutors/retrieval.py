"""The course material index: notebooks split into passages, ranked with BM25.

Why not an embedding model: the default tutor must work on a classroom laptop with no model service
and no download, answer in milliseconds, and be deterministic (nbval checks its output). BM25 over
the course's own words, with a small tokenizer and light stemming, finds the right section for the
questions learners ask; typo tolerance (``rapidfuzz``: edit distance against the course's own
vocabulary, in C) and the code-aware tokenizer of ``terms.py`` take it past exact words.

An index is kept per (server root, course folder) and refreshed from file modification times, so a
notebook is re-read only when it changed on disk, never per message.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from tutornb.tutors.notebook import (
    Example,
    NotebookInfo,
    Objective,
    Passage,
    PassageKind,
    clean_heading,
    is_callout,
    parse_notebook,
    same_heading,
)
from tutornb.tutors.terms import code_fragments, markdown_terms, normal, squash, tokenize, words
from tutornb.tutors.terms import code_terms as tokenize_code

#: Passages and notebooks are defined in ``notebook.py``; they are re-exported here, where the
#: tutors have always found them.
__all__ = [
    "Example",
    "NotebookInfo",
    "Objective",
    "Passage",
    "PassageKind",
    "clean_heading",
    "is_callout",
    "parse_notebook",
    "same_heading",
    "tokenize",
]

# -------------------------------------------------------------------------------------------------
# BM25


class Bm25:
    """Okapi BM25 over token lists (k1 = 1.5, b = 0.75), with an inverted index for fast scoring."""

    def __init__(self, documents: Sequence[Counter[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.count = len(documents)
        self.lengths = [sum(doc.values()) for doc in documents]
        self.avg_length = (sum(self.lengths) / self.count) if self.count else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, doc in enumerate(documents):
            for term, tf in doc.items():
                self.postings.setdefault(term, []).append((doc_id, tf))

    def idf(self, term: str) -> float:
        """Always positive (the "+1" variant), so a word in every passage still counts a little."""
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.count - df + 0.5) / (df + 0.5))

    def scores(self, terms: Iterable[str]) -> dict[int, float]:
        result: dict[int, float] = {}
        if not self.count:
            return result
        for term in set(terms):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for doc_id, tf in postings:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[doc_id] / (self.avg_length or 1.0))
                result[doc_id] = result.get(doc_id, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        return result


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


def _document(passage: Passage) -> Counter[str]:
    # The heading counts twice: it names what the section is about.
    tokens = markdown_terms(passage.heading) * 2 + markdown_terms(passage.text)
    for example in passage.examples:
        tokens.extend(tokenize(example.source, meanings=False))
    return Counter(tokens)


def _surface(passage: Passage) -> Counter[str]:
    """The folded words a passage is written with: what a misspelt word is compared against."""
    text = " ".join([passage.heading, passage.text, *(e.source for e in passage.examples)])
    return Counter(w for w in words(text) if len(w) >= 3)


#: A term in at most this many passages is rare enough to name a section's topic.
RARE_DF = 3
#: A message with more distinct terms than this is reduced to its key terms before ranking.
KEY_TERMS = 8


@dataclass
class _Ranker:
    passages: list[Passage]
    documents: list[Counter[str]]
    bm25: Bm25
    #: Folded course words, most frequent first, and the term each one searches as.
    vocabulary: list[str] = field(default_factory=list)
    term_of: dict[str, str] = field(default_factory=dict)
    _code: dict[int, str] = field(default_factory=dict)
    _headings: dict[int, set[str]] = field(default_factory=dict)
    _code_terms: set[str] | None = None

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


# -------------------------------------------------------------------------------------------------
# The per-folder index


@dataclass(frozen=True)
class RefreshStats:
    scanned: int
    reparsed: int
    seconds: float


_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", ".git", ".ipynb_checkpoints"}


@dataclass
class _Entry:
    signature: tuple[int, int]
    info: NotebookInfo | None  # None: unreadable or not a notebook
    documents: list[Counter[str]] = field(default_factory=list)
    surface: Counter[str] = field(default_factory=Counter)


class CourseIndex:
    """All notebooks of a folder tree, indexed per course.

    ``refresh()`` looks at modification times and re-reads only notebooks whose (mtime, size)
    changed; the list of files under the folder is re-scanned at most every ``rescan_seconds``.
    """

    def __init__(
        self,
        root_dir: Path,
        folder: Path,
        *,
        max_depth: int = 3,
        max_notebooks: int = 500,
        rescan_seconds: float = 2.0,
    ) -> None:
        self.root_dir = root_dir
        self.folder = folder
        self.max_depth = max_depth
        self.max_notebooks = max_notebooks
        self.rescan_seconds = rescan_seconds
        self._entries: dict[str, _Entry] = {}
        self._paths: list[str] = []
        self._scanned_at = -math.inf
        self._generation = 0
        self._rankers: dict[tuple[str | None, str | None], tuple[int, _Ranker]] = {}
        self._lock = threading.RLock()

    # -- discovery ---------------------------------------------------------------------------------

    def _scan(self) -> list[str]:
        found: list[str] = []
        base_depth = len(self.folder.parts)
        for dirpath, dirnames, filenames in os.walk(self.folder):
            depth = len(Path(dirpath).parts) - base_depth
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".") and d not in _SKIP_DIRS and depth < self.max_depth
            )
            for name in sorted(filenames):
                if name.endswith(".ipynb") and not name.startswith("."):
                    found.append(Path(dirpath, name).relative_to(self.root_dir).as_posix())
                    if len(found) >= self.max_notebooks:
                        return found
        return found

    def refresh(self, *, force_scan: bool = False) -> RefreshStats:
        started = time.perf_counter()
        reparsed = 0
        with self._lock:
            now = time.monotonic()
            if force_scan or now - self._scanned_at >= self.rescan_seconds:
                self._paths = self._scan()
                self._scanned_at = now
                for gone in set(self._entries) - set(self._paths):
                    del self._entries[gone]
                    self._generation += 1
            for rel in self._paths:
                if self._load(rel):
                    reparsed += 1
            if reparsed:
                self._generation += 1
        return RefreshStats(len(self._paths), reparsed, time.perf_counter() - started)

    def _load(self, rel: str) -> bool:
        """Re-reads one notebook if its (mtime, size) changed; True when it did."""
        path = self.root_dir / rel
        try:
            st = path.stat()
        except OSError:
            if rel in self._entries:
                del self._entries[rel]
                return True
            return False
        signature = (st.st_mtime_ns, st.st_size)
        entry = self._entries.get(rel)
        if entry is not None and entry.signature == signature:
            return False
        try:
            info: NotebookInfo | None = parse_notebook(path.read_bytes(), rel, signature)
        except (OSError, ValueError, UnicodeDecodeError):
            info = None
        documents = [_document(p) for p in info.passages] if info else []
        surface: Counter[str] = Counter()
        for passage in info.passages if info else ():
            surface.update(_surface(passage))
        self._entries[rel] = _Entry(signature=signature, info=info, documents=documents, surface=surface)
        return True

    def notebook(self, rel_path: str) -> NotebookInfo | None:
        with self._lock:
            if rel_path not in self._paths:
                # A notebook created since the last scan, or deeper than the scan goes: load it
                # directly.
                self._paths.append(rel_path)
            if self._load(rel_path):
                self._generation += 1
            entry = self._entries.get(rel_path)
            return entry.info if entry else None

    def course_notebooks(self, course_id: str | None, current: str | None = None) -> list[NotebookInfo]:
        """The course's notebooks in file-name order (the order a course is meant to be read in).

        A notebook without a course id is a course of its own.
        """
        with self._lock:
            infos = [e.info for e in self._entries.values() if e.info is not None]
        if course_id is None:
            return [i for i in infos if i.path == current]
        return sorted((i for i in infos if i.course_id == course_id), key=lambda i: i.path)

    # -- ranking -----------------------------------------------------------------------------------

    def _ranker(self, course_id: str | None, current: str | None) -> _Ranker:
        key = (course_id, current if course_id is None else None)
        with self._lock:
            cached = self._rankers.get(key)
            if cached and cached[0] == self._generation:
                return cached[1]
            passages: list[Passage] = []
            documents: list[Counter[str]] = []
            surface: Counter[str] = Counter()
            for info in self.course_notebooks(course_id, current):
                entry = self._entries[info.path]
                passages.extend(info.passages)
                documents.extend(entry.documents)
                surface.update(entry.surface)
            bm25 = Bm25(documents)
            term_of = {w: t for w in surface if (t := normal(w)) is not None and t in bm25.postings}
            vocabulary = sorted(term_of, key=lambda w: (-surface[w], w))
            ranker = _Ranker(passages, documents, bm25, vocabulary, term_of)
            self._rankers[key] = (self._generation, ranker)
            return ranker

    def analyze(
        self, query: str, *, course_id: str | None, current: str | None = None, known_only: bool = False
    ) -> list[str]:
        """The terms ``search`` would use for ``query`` (see :meth:`_Ranker.analyze`)."""
        return self._ranker(course_id, current).analyze(query, known_only=known_only)

    def search(
        self,
        query: str,
        *,
        course_id: str | None,
        current: str | None = None,
        notebook: str | None = None,
        kinds: frozenset[PassageKind] | None = None,
        limit: int = 5,
        current_boost: float = 1.25,
        exercise_weight: float = 0.6,
        intro_weight: float = 0.7,
        context: Sequence[str] = (),
        context_weight: float = 0.5,
        known_only: bool = False,
        code_boost: float = 1.5,
        heading_boost: float = 0.15,
    ) -> list[Hit]:
        """Best passages for ``query`` in the course; the current notebook is slightly preferred and
        exercises weigh less than explanations (they ask, they don't explain), and so do a
        notebook's introduction and overview lists (they name topics without explaining any).

        ``context`` terms (the conversation so far) add to the ranking at ``context_weight`` but not
        to the coverage: a follow-up is about its own words, read in the light of the last ones.
        A passage whose code holds a fragment the query quotes verbatim (``M[1,:]``) is boosted,
        and so, a little, is one whose heading names the query's words."""
        ranker = self._ranker(course_id, current)
        terms = ranker.analyze(query, known_only=known_only)
        if not terms:
            return []
        weights = {t: ranker.bm25.idf(t) for t in set(terms)}
        total_weight = sum(weights.values()) or 1.0
        hits: list[Hit] = []
        scores = ranker.bm25.scores(terms)
        if context:
            for doc_id, extra in ranker.bm25.scores([t for t in context if t not in weights]).items():
                scores[doc_id] = scores.get(doc_id, 0.0) + context_weight * extra
        fragments = code_fragments(query)
        for doc_id, score in scores.items():
            passage = ranker.passages[doc_id]
            if notebook is not None and passage.notebook_path != notebook:
                continue
            if kinds is not None and passage.kind not in kinds:
                continue
            document = ranker.documents[doc_id]
            matched = tuple(sorted(t for t in weights if t in document))
            coverage = sum(weights[t] for t in matched) / total_weight
            if passage.notebook_path == current:
                score *= current_boost
            if passage.kind == "exercise":
                score *= exercise_weight
            if passage.level <= 1 or ranker.overview(doc_id):
                score *= intro_weight
            if fragments and any(f in ranker.code(doc_id) for f in fragments):
                score *= code_boost
            heading = [t for t in ranker.heading_terms(doc_id) if t in weights]
            score *= 1 + heading_boost * sum(weights[t] for t in heading) / total_weight
            names_topic = any(
                len(ranker.bm25.postings.get(t, ())) <= RARE_DF and t in ranker.code_terms() for t in heading
            )
            hits.append(Hit(passage, score, coverage, matched, tuple(terms), names_topic))
        hits.sort(key=lambda h: (-round(h.score, 9), h.passage.notebook_path, h.passage.cell_index))
        return hits[:limit]


# -------------------------------------------------------------------------------------------------
# Cache of indexes, per server root and course folder

_INDEXES: dict[tuple[Path, Path], CourseIndex] = {}
_INDEXES_LOCK = threading.Lock()


def resolve_notebook(root_dir: Path, notebook_path: str | None) -> tuple[Path, str] | None:
    """(absolute path, posix path relative to root) for a notebook inside the root, else None.

    Paths that climb out of the root (``../``) or point at something else than a notebook are
    refused: the tutor reads course material, not arbitrary files.
    """
    if not notebook_path or not notebook_path.endswith(".ipynb"):
        return None
    root = root_dir.resolve()
    try:
        candidate = (root / notebook_path.lstrip("/")).resolve()
        rel = candidate.relative_to(root)
    except (OSError, ValueError):
        return None
    return candidate, rel.as_posix()


def index_for(root_dir: Path, notebook_path: str | None) -> tuple[CourseIndex, str] | None:
    """The shared, refreshed index covering ``notebook_path``'s folder, and the notebook's relative
    path."""
    resolved = resolve_notebook(root_dir, notebook_path)
    if resolved is None:
        return None
    absolute, rel = resolved
    root = root_dir.resolve()
    key = (root, absolute.parent)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = CourseIndex(root, absolute.parent)
            _INDEXES[key] = index
    index.refresh()
    return index, rel


def clear_indexes() -> None:
    """Forget every cached index (tests and benchmarks start cold with it)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()
