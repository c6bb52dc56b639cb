"""Meaning for the retrieval: static word embeddings that ship with the package.

Why ``wordllama``: its model (token embeddings distilled from a large language model) is inside the
wheel, so it loads with no network and no model service; an embedding is an average of token
vectors, so it is deterministic and takes about a millisecond per question on one core; and it ranks
paraphrases that share no word with the course ("stack two arrays on top of each other" onto
``vstack``), which BM25 cannot. Sentence-transformer models read better but need torch (hundreds of
MB) and a download; fastText-style vectors need a download too.

Memory: the model's 256 dimensions are Matryoshka-trained, so the first 128 keep most of the
meaning; kept as float16 the matrix is 8 MB. The model is loaded on the first tutor turn that
searches (never at server start) and shared by every course of the process.

Embeddings of a notebook's passages are computed once per notebook change: kept in memory with the
index entry, and on disk in the user's cache folder (``$XDG_CACHE_HOME/tutornb/embeddings``, private),
keyed by the model and the exact texts, so a restarted server does not embed an unchanged course
again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("tutornb.tutors.semantic")

#: Dimensions kept of the bundled 256-dim model (a Matryoshka prefix).
DIMENSIONS = 128
MODEL_ID = f"wordllama-l2_supercat-{DIMENSIONS}"
#: How much of a passage is embedded: its opening says what it is about; an average over very long
#: text blurs it.
MAX_CHARS = 1500

_lock = threading.Lock()
_model: Embedder | None = None
_failed = False


class Embedder:
    """The loaded model: texts in, unit vectors (float32 rows) out."""

    def __init__(self, inference: Any) -> None:
        self._inference = inference

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._inference.embed([t[:MAX_CHARS] or " " for t in texts], norm=False)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # Rounded to float16 as the disk cache keeps them, so a cached course ranks exactly as a
        # freshly embedded one.
        return (vectors / np.maximum(norms, 1e-9)).astype(np.float16).astype(np.float32)


def model() -> Embedder | None:
    """The shared embedder, loaded on first use; None when the model cannot be loaded (the tutor
    then ranks by words alone, and says so in the log once)."""
    global _model, _failed
    if _model is not None or _failed:
        return _model
    with _lock:
        if _model is None and not _failed:
            try:
                _model = Embedder(_load())
            except Exception:  # any failure leaves word retrieval working
                _failed = True
                log.warning(
                    "tutor: the embedding model could not be loaded; ranking by words only", exc_info=True
                )
    return _model


def _load() -> Any:
    import numpy as np
    import wordllama
    from wordllama import WordLlama

    # The plain ``load()`` looks for the tokenizer elsewhere and tries to download it: point it at
    # the files inside the package and forbid downloads.
    inference = WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, trunc_dim=DIMENSIONS
    )
    # float16 halves the matrix; the pooling sums in float32 (wordllama's ``avg_pool``).
    inference.embedding = np.ascontiguousarray(inference.embedding.astype(np.float16))
    return inference


def loaded() -> bool:
    return _model is not None


# -------------------------------------------------------------------------------------------------
# The on-disk cache


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tutornb" / "embeddings"


def _key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256(MODEL_ID.encode())
    for text in texts:
        digest.update(b"\0")
        digest.update(text[:MAX_CHARS].encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def embed_cached(embedder: Embedder, texts: Sequence[str]) -> Any:
    """The unit vectors of ``texts``, from the disk cache when these exact texts were embedded
    before with this model."""
    import numpy as np

    path = cache_dir() / f"{_key(texts)}.npy"
    try:
        if not path.is_symlink():
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(texts), DIMENSIONS):
                return cached.astype(np.float32)
    except (OSError, ValueError):
        pass
    vectors = embedder.embed(texts)
    _save(path, vectors.astype(np.float16))
    return vectors


def _save(path: Path, array: Any) -> None:
    """Written atomically and privately; a cache that cannot be written is only slower."""
    import numpy as np

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        log.debug("tutor: could not cache embeddings in %s", path.parent, exc_info=True)
