"""Compression of closed sessions' transcripts.

A closed session never changes again, so its messages are stored as one compressed document instead
of one
document per message: several times smaller on disk, and still read (and searched) transparently.
bzip2 is
used for its ratio on prose (closing is rare and a transcript is small, so its speed does not
matter);
zlib documents remain readable, and are written where Python lacks bz2.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from tutornb.store import files

try:
    import bz2
except ImportError:  # pragma: no cover - CPython built without libbz2
    bz2 = None  # type: ignore[assignment]

BZ2 = "bz2+json+base64"
ZLIB = "zlib+json+base64"
CODEC = BZ2 if bz2 is not None else ZLIB


def pack(messages: list[dict[str, Any]]) -> dict[str, Any]:
    raw = files.to_bytes(files.dumps(messages))
    packed = bz2.compress(raw, 9) if CODEC == BZ2 else zlib.compress(raw, 9)
    data = base64.b64encode(packed).decode("ascii")
    return {"codec": CODEC, "count": len(messages), "raw_bytes": len(raw), "data": data}


def unpack_raw(doc: dict[str, Any]) -> bytes:
    """The transcript's JSON bytes (what ``pack`` compressed)."""
    codec = doc.get("codec")
    packed = base64.b64decode(doc["data"])
    if codec == BZ2 and bz2 is not None:
        return bz2.decompress(packed)
    if codec == ZLIB:
        return zlib.decompress(packed)
    raise ValueError("unknown archive codec")


def unpack(doc: dict[str, Any]) -> list[dict[str, Any]]:
    messages = json.loads(unpack_raw(doc).decode("utf-8", "surrogatepass"))
    if not isinstance(messages, list):
        raise ValueError("archive does not hold a message list")
    return messages


def ratio(doc: dict[str, Any]) -> float:
    """Uncompressed JSON size over the stored document size."""
    stored = len(files.dumps(doc))
    return float(doc.get("raw_bytes", 0)) / stored if stored else 0.0
