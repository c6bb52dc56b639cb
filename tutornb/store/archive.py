"""Compression of closed sessions' transcripts.

A closed session never changes again, so its messages are stored as one compressed document instead
of one
document per message: about a fifth of the size on disk, and still readable (and searchable)
transparently.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

CODEC = "zlib+json+base64"


def pack(messages: list[dict[str, Any]]) -> dict[str, Any]:
    raw = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    data = base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
    return {"codec": CODEC, "count": len(messages), "raw_bytes": len(raw), "data": data}


def unpack(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc.get("codec") != CODEC:
        raise ValueError("unknown archive codec")
    raw = zlib.decompress(base64.b64decode(doc["data"]))
    messages = json.loads(raw.decode("utf-8", "surrogatepass"))
    if not isinstance(messages, list):
        raise ValueError("archive does not hold a message list")
    return messages


def ratio(doc: dict[str, Any]) -> float:
    """Uncompressed JSON size over the stored document size."""
    stored = len(json.dumps(doc, separators=(",", ":")))
    return float(doc.get("raw_bytes", 0)) / stored if stored else 0.0
