"""Okapi BM25: the word half of the course retrieval (``retrieval.py`` fuses it with meaning)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence


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
