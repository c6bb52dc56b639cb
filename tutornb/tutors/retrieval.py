"""The course material index: notebooks split into passages, ranked with BM25.

Why not an embedding model: the default tutor must work on a classroom laptop with no model service
and no download, answer in milliseconds, and be deterministic (nbval checks its output). BM25 over
the course's own words, with a small tokenizer and light stemming, finds the right section for the
questions learners ask.

An index is kept per (server root, course folder) and refreshed from file modification times, so a
notebook is re-read only when it changed on disk, never per message.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tutornb.coursemeta import CourseMetadata, notebook_course_metadata
from tutornb.models import Citation, QuizQuestion

PassageKind = Literal["concept", "exercise"]

# -------------------------------------------------------------------------------------------------
# Tokenizer

_TOKEN_RE = re.compile(r"[a-z][a-z0-9_]*")

#: English function words plus the conversational filler learners wrap questions in ("can you
#: explain ...").
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each few for from further had has have having he her here hers herself him
    himself his how i if in into is isn it its itself just let lets me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which who whom why will with
    won would you your yours yourself yourselves explain explaining explained tell show please
    thanks thank want wanted know learn understand help mean means meant really actually
    something anything thing things way ways okay ok hey hi hello sure maybe like need needs
    trying try does work works working use using used good bad better best right wrong question
    questions answer give example examples again kind bit lot lots still even much many confused
    confusing confuse twice weird strange problem problems issue issues trouble happen happens
    happened see seems seem getting keep keeps write writing make making do doing done go going
    say said difference different without
    """.split()  # noqa: SIM905 - a word list reads better as text
)

#: A few spellings learners use for the words the course uses.
SYNONYMS = {
    "dict": "dictionary",
    "func": "function",
    "arg": "argument",
    "param": "parameter",
    "kwarg": "keyword",
    "fn": "function",
    "indic": "index",
    "iterat": "loop",
    "iteration": "loop",
    "traceback": "error",
    "exception": "error",
}


def stem(word: str) -> str:
    """Light suffix stripping: enough that "loops", "looping" and "loop" meet, without a stemmer
    library."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


_STEM_CACHE: dict[str, str] = {}


def _normal(word: str) -> str | None:
    cached = _STEM_CACHE.get(word)
    if cached is not None:
        return cached or None
    result = ""
    if len(word) >= 2 and word not in STOP_WORDS:
        stemmed = stem(word)
        result = SYNONYMS.get(stemmed, SYNONYMS.get(word, stemmed))
    if len(_STEM_CACHE) < 200_000:
        _STEM_CACHE[word] = result
    return result or None


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words; snake_case names also yield their parts (``my_list`` ->
    list)."""
    out: list[str] = []
    for raw in _TOKEN_RE.findall(text.lower()):
        parts = [raw]
        if "_" in raw:
            parts.extend(p for p in raw.split("_") if p)
        for part in parts:
            token = _normal(part)
            if token is not None:
                out.append(token)
    return out


# -------------------------------------------------------------------------------------------------
# Notebooks -> passages


@dataclass(frozen=True)
class Example:
    """A code cell kept as a worked example of the passage before it."""

    cell_index: int
    source: str


@dataclass(frozen=True)
class Passage:
    notebook_path: str
    cell_index: int
    heading: str
    text: str
    kind: PassageKind
    examples: tuple[Example, ...] = ()
    level: int = 2

    def citation(self) -> Citation:
        return Citation(notebook_path=self.notebook_path, cell_index=self.cell_index, heading=self.heading)

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.text) if p.strip()]


@dataclass(frozen=True)
class Objective:
    id: str
    text: str


@dataclass(frozen=True)
class NotebookInfo:
    """One notebook as the tutor sees it: its course/module metadata and its passages."""

    path: str
    course_id: str | None
    course_title: str | None
    module_id: str | None
    module_title: str
    objectives: tuple[Objective, ...]
    quiz: tuple[QuizQuestion, ...]
    passages: tuple[Passage, ...]
    content_hash: str
    signature: tuple[int, int] = (0, 0)

    def question(self, question_id: str | None) -> QuizQuestion | None:
        return next((q for q in self.quiz if q.id == question_id), None)

    def objective(self, objective_id: str | None) -> Objective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    def concept_passages(self) -> list[Passage]:
        return [p for p in self.passages if p.kind == "concept" and p.level >= 2]

    def exercises(self) -> list[Passage]:
        return [p for p in self.passages if p.kind == "exercise"]


_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def clean_heading(text: str) -> str:
    """Headings as a reader sees them: no Markdown emphasis or code ticks."""
    return re.sub(r"[`*_]", "", text).strip()


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(str(s) for s in src)
    return str(src)


def _is_tooling_code(source: str) -> bool:
    """Magics and shell escapes (``%tutor``, ``!pip``) are not worked examples of anything."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return not lines or all(ln.startswith(("%", "!")) for ln in lines)


def _split_markdown(source: str) -> list[tuple[int, str | None, list[str]]]:
    """(level, heading or None for text before the first heading, body lines) per section of one
    cell."""
    sections: list[tuple[int, str | None, list[str]]] = [(0, None, [])]
    in_fence = False
    for line in source.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_RE.match(line)
        if match:
            sections.append((len(match.group(1)), clean_heading(match.group(2)), []))
        else:
            sections[-1][2].append(line)
    return sections


def _parse_meta(document: dict[str, Any]) -> tuple[CourseMetadata, tuple[Objective, ...]]:
    meta = notebook_course_metadata(document).metadata
    objectives = tuple(Objective(id=o.id, text=o.text) for o in meta.objectives)
    # A question whose answer is not one of its choices cannot be graded: skipped here, reported by
    # ``tutornb course check``.
    meta.quiz = [q for q in meta.quiz if q.answer < len(q.choices)]
    return meta, objectives


def parse_notebook(data: bytes, rel_path: str, signature: tuple[int, int] = (0, 0)) -> NotebookInfo:
    """Passages from a notebook's JSON. Markdown is split by headings; code cells attach to the
    passage before them, which is where a course puts the example of what it just explained."""
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("not a notebook")
    meta, objectives = _parse_meta(doc)
    raw_cells = doc.get("cells")
    cells: list[Any] = raw_cells if isinstance(raw_cells, list) else []

    drafts: list[dict[str, Any]] = []
    title: str | None = None
    current_heading = ""
    current_level = 2
    current_kind: PassageKind = "concept"
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        source = _source(cell)
        if cell.get("cell_type") == "markdown":
            for level, heading, body in _split_markdown(source):
                text = "\n".join(body).strip()
                if heading is None:
                    if not text:
                        continue
                    heading_text, kind, lvl = current_heading, current_kind, current_level
                else:
                    if level == 1 and title is None:
                        title = heading
                    heading_text = heading
                    kind = "exercise" if heading.lower().startswith("exercise") else "concept"
                    lvl = level
                    current_heading, current_kind, current_level = heading_text, kind, lvl
                drafts.append(
                    {
                        "cell": index,
                        "heading": heading_text,
                        "text": text,
                        "kind": kind,
                        "level": lvl,
                        "examples": [],
                    }
                )
        elif cell.get("cell_type") == "code" and drafts and not _is_tooling_code(source):
            drafts[-1]["examples"].append(Example(cell_index=index, source=source.strip()))

    passages = tuple(
        Passage(
            notebook_path=rel_path,
            cell_index=d["cell"],
            heading=d["heading"] or title or Path(rel_path).stem,
            text=d["text"],
            kind=d["kind"],
            examples=tuple(d["examples"]),
            level=d["level"],
        )
        for d in drafts
        if d["text"] or d["examples"]
    )
    module_title = meta.module_title or title or Path(rel_path).stem.replace("_", " ")
    return NotebookInfo(
        path=rel_path,
        course_id=meta.course_id,
        course_title=meta.course_title,
        module_id=meta.module_id,
        module_title=str(module_title),
        objectives=objectives,
        quiz=tuple(meta.quiz),
        passages=passages,
        content_hash=hashlib.sha256(data).hexdigest(),
        signature=signature,
    )


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


def _document(passage: Passage) -> Counter[str]:
    # The heading counts twice: it names what the section is about.
    tokens = tokenize(passage.heading) * 2 + tokenize(passage.text)
    for example in passage.examples:
        tokens.extend(tokenize(example.source))
    return Counter(tokens)


@dataclass
class _Ranker:
    passages: list[Passage]
    documents: list[Counter[str]]
    bm25: Bm25


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
        self._entries[rel] = _Entry(signature=signature, info=info, documents=documents)
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
            for info in self.course_notebooks(course_id, current):
                entry = self._entries[info.path]
                passages.extend(info.passages)
                documents.extend(entry.documents)
            ranker = _Ranker(passages, documents, Bm25(documents))
            self._rankers[key] = (self._generation, ranker)
            return ranker

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
    ) -> list[Hit]:
        """Best passages for ``query`` in the course; the current notebook is slightly preferred and
        exercises weigh less than explanations (they ask, they don't explain), and so do a
        notebook's introduction (it names every topic without explaining any)."""
        terms = tokenize(query)
        if not terms:
            return []
        ranker = self._ranker(course_id, current)
        weights = {t: ranker.bm25.idf(t) for t in set(terms)}
        total_weight = sum(weights.values()) or 1.0
        hits: list[Hit] = []
        for doc_id, score in ranker.bm25.scores(terms).items():
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
            if passage.level <= 1:
                score *= intro_weight
            hits.append(Hit(passage, score, coverage, matched))
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
