from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tutornb.store import SessionStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    opened = SessionStore(tmp_path / ".tutornb", background_compaction=False)
    yield opened
    opened.close()
