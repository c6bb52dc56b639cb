"""The course material index: notebooks split into passages, ranked by words (BM25) and by meaning
(static embeddings, ``semantic.py``), the two rankings fused by reciprocal rank.

Words alone refuse whenever a learner's words differ from the author's; meaning alone misses the
exact names a learner quotes (``np.vstack``, ``M[1,:]``). Reciprocal rank fusion needs no score
calibration between the two (it adds ``1 / (k + rank)`` from each list), so each ranker keeps its
own boosts. Both are deterministic and take milliseconds. BM25 uses a small tokenizer and light
stemming; typo tolerance (``rapidfuzz``: edit distance against the course's own vocabulary, in C)
and the code-aware tokenizer of ``terms.py`` take it past exact words.

An index is kept per (server root, course folder) and refreshed from file modification times, so a
notebook is re-read only when it changed on disk, never per message.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tutornb.tutors import semantic
from tutornb.tutors.bm25 import Bm25
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
from tutornb.tutors.ranker import (
    KEY_TERMS,
    RARE_DF,
    RRF_K,
    SEMANTIC_CANDIDATES,
    Hit,
    Ranker,
    document_terms,
    meaning_text,
    surface_words,
)
from tutornb.tutors.terms import STOP_WORDS, code_fragments, normal, tokenize

#: Passages and notebooks are defined in ``notebook.py``; they are re-exported here, where the
#: tutors have always found them.
__all__ = [
    "KEY_TERMS",
    "Bm25",
    "Example",
    "Hit",
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
    #: The passages' embeddings, computed once per notebook change (None until first needed).
    vectors: Any = None


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
        self._rankers: dict[tuple[str | None, str | None], tuple[int, Ranker]] = {}
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
        documents = [document_terms(p) for p in info.passages] if info else []
        surface: Counter[str] = Counter()
        for passage in info.passages if info else ():
            surface.update(surface_words(passage))
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

    def _ranker(self, course_id: str | None, current: str | None) -> Ranker:
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
            ranker = Ranker(passages, documents, bm25, vocabulary, term_of)
            ranker.paths = [info.path for info in self.course_notebooks(course_id, current)]
            self._rankers[key] = (self._generation, ranker)
            return ranker

    def _vectors(self, ranker: Ranker, embedder: semantic.Embedder) -> Any:
        """The ranker's passage embeddings: each notebook's computed once per change (memory, then
        the disk cache), stacked in passage order."""
        import numpy as np

        with self._lock:
            if ranker.vectors is None:
                parts = []
                for path in ranker.paths:
                    entry = self._entries[path]
                    if entry.vectors is None:
                        texts = [meaning_text(p) for p in entry.info.passages] if entry.info else []
                        entry.vectors = semantic.embed_cached(embedder, texts)
                    parts.append(entry.vectors)
                ranker.vectors = (
                    np.concatenate(parts) if parts else np.zeros((0, semantic.DIMENSIONS), np.float32)
                )
            return ranker.vectors

    def analyze(
        self, query: str, *, course_id: str | None, current: str | None = None, known_only: bool = False
    ) -> list[str]:
        """The terms ``search`` would use for ``query`` (see :meth:`Ranker.analyze`)."""
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
        meaning: bool = True,
        meaning_of: str | None = None,
    ) -> list[Hit]:
        """Best passages for ``query`` in the course; the current notebook is slightly preferred and
        exercises weigh less than explanations (they ask, they don't explain), and so do a
        notebook's introduction and overview lists (they name topics without explaining any).

        ``context`` terms (the conversation so far) add to the ranking at ``context_weight`` but not
        to the coverage: a follow-up is about its own words, read in the light of the last ones.
        A passage whose code holds a fragment the query quotes verbatim (``M[1,:]``) is boosted,
        and so, a little, is one whose heading names the query's words. With ``meaning`` (and the
        model loadable) the word ranking is fused with the ranking by meaning, of ``meaning_of``
        when given (a follow-up read with the question before it)."""
        ranker = self._ranker(course_id, current)
        terms = ranker.analyze(query, known_only=known_only)
        similarity = self._similarities(ranker, meaning_of or query) if meaning else None
        if not terms and similarity is None:
            return []
        weights = {t: ranker.bm25.idf(t) for t in set(terms)}
        total_weight = sum(weights.values()) or 1.0
        scores = ranker.bm25.scores(terms) if terms else {}
        if context:
            for doc_id, extra in ranker.bm25.scores([t for t in context if t not in weights]).items():
                scores[doc_id] = scores.get(doc_id, 0.0) + context_weight * extra

        def wanted(doc_id: int) -> bool:
            passage = ranker.passages[doc_id]
            return (notebook is None or passage.notebook_path == notebook) and (
                kinds is None or passage.kind in kinds
            )

        fragments = code_fragments(query)
        lexical: dict[int, Hit] = {}
        for doc_id, score in scores.items():
            if not wanted(doc_id):
                continue
            passage = ranker.passages[doc_id]
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
            lexical[doc_id] = Hit(passage, score, coverage, matched, tuple(terms), names_topic)
        if similarity is None:
            return one_of_each(sorted(lexical.values(), key=_by_score), current)[:limit]
        # When the words already find a passage holding most of the question, meaning only
        # reorders near ties; when they don't, it weighs as much as the words.
        strong = any(h.coverage >= STRONG_COVERAGE for h in lexical.values())
        weight = MEANING_WEIGHT if strong else 1.0
        fused = self._fuse(ranker, lexical, similarity, wanted, current, tuple(terms), weight)
        return one_of_each(fused, current)[:limit]

    def _similarities(self, ranker: Ranker, query: str) -> Any:
        """Cosine similarity of ``query`` with every passage, or None without a model."""
        embedder = semantic.model()
        if embedder is None or not ranker.passages or not query.strip():
            return None
        vectors = self._vectors(ranker, embedder)
        # An average of token vectors is pulled toward the filler a question is wrapped in ("what's
        # the difference between"): its content words say what it asks.
        content = " ".join(w for w in query.split() if w.lower().strip("?.,!'\"") not in STOP_WORDS)
        return vectors @ embedder.embed([content or query])[0]

    @staticmethod
    def _fuse(
        ranker: Ranker,
        lexical: dict[int, Hit],
        similarity: Any,
        wanted: Callable[[int], bool],
        current: str | None,
        terms: tuple[str, ...],
        weight: float,
    ) -> list[Hit]:
        """Reciprocal rank fusion of the word ranking and the meaning ranking. The meaning side
        prefers explanations and the current notebook a little, as the word side does."""
        adjusted: dict[int, float] = {}
        for doc_id, value in enumerate(similarity.tolist()):
            if not wanted(doc_id):
                continue
            passage = ranker.passages[doc_id]
            if passage.kind == "exercise" or passage.level <= 1 or ranker.overview(doc_id):
                value *= 0.9
            if passage.notebook_path == current:
                value += 0.02
            adjusted[doc_id] = value
        by_meaning = sorted(adjusted, key=lambda d: (-round(adjusted[d], 6), d))
        by_words = [doc for doc, _ in sorted(lexical.items(), key=lambda item: _by_score(item[1]))]
        fused: dict[int, float] = {}
        for rank, doc_id in enumerate(by_words):
            fused[doc_id] = 1 / (RRF_K + rank + 1)
        for rank, doc_id in enumerate(by_meaning[:SEMANTIC_CANDIDATES]):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (RRF_K + rank + 1)
        raw = sorted((float(similarity[d]) for d in adjusted), reverse=True)
        fifth = raw[min(DISTINCT_RANK, len(raw)) - 1] if raw else 0.0
        hits = []
        for doc_id in sorted(fused, key=lambda d: (-round(fused[d], 9), d)):
            found = lexical.get(doc_id) or Hit(ranker.passages[doc_id], 0.0, 0.0, (), terms)
            value = float(similarity[doc_id])
            hits.append(replace(found, similarity=value, fused=fused[doc_id], distinct=value - fifth))
        return hits


#: The meaning ranking's weight in the fusion: the words a learner shares with the course are the
#: surer sign (measured on three courses), meaning decides among them and finds what words miss.
MEANING_WEIGHT = 0.1
#: A passage's similarity is compared with the one this far down the ranking by meaning.
DISTINCT_RANK = 5
#: A word match holding at least this share of the question's idf weight is some evidence; below
#: it, meaning weighs as much as the words.
STRONG_COVERAGE = 0.15


def same_content(passage: Passage) -> tuple[str, str, tuple[str, ...]]:
    """What makes two passages the same section: a learner's copy of a module notebook beside the
    original holds the same heading, text and code."""
    return (passage.heading, passage.text, tuple(e.source for e in passage.examples))


def preference(passage: Passage, current: str | None) -> tuple[bool, int, str]:
    """Which of identical passages is cited: the learner's own notebook first, else the original
    (a copy's name is the original's plus a suffix: "-Copy1", " (1)")."""
    name = passage.notebook_path.rsplit("/", 1)[-1]
    return (passage.notebook_path != current, len(name), passage.notebook_path)


def one_of_each(hits: list[Hit], current: str | None) -> list[Hit]:
    """Ranked hits with identical sections (a notebook and its copies) collapsed into one, placed
    where the best of them ranked and citing the preferred notebook."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[Hit]] = {}
    for hit in hits:
        groups.setdefault(same_content(hit.passage), []).append(hit)
    if len(groups) == len(hits):
        return hits
    result = []
    for group in groups.values():  # dicts keep insertion order: the best-ranked first
        chosen = min(group, key=lambda h: preference(h.passage, current))
        result.append(replace(group[0], passage=chosen.passage))
    return result


def _by_score(hit: Hit) -> tuple[float, str, int]:
    return (-round(hit.score, 9), hit.passage.notebook_path, hit.passage.cell_index)


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
