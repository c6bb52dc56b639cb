"""A durable, fast, multi-process TinyDB storage (generic: nothing here knows about sessions).

TinyDB's own ``JSONStorage`` rewrites the whole file on every write, overwrites it in place and has
no lock. This storage keeps the database in memory and makes each committed write one checksummed
line appended to a journal (one ``fsync``), over a snapshot that is only ever replaced atomically.
The on-disk format and its guarantees are described in docs/architecture.md ("Store").

Modules, one job each:

* ``tables``: the database in memory (lazily parsed tables, ids, versions, change listeners);
* ``changes``: what an uncommitted transaction changed, as journal operations and undo entries;
* ``journal``: the journal file, the store lock, and catching up with other processes' commits;
* ``recovery``: opening the store and rebuilding it from damaged files;
* ``compaction``: new snapshots, backups, the background compaction thread;
* ``storage``: ``JournaledStorage``, TinyDB's ``Storage`` with transactions;
* ``tinydb_glue``: ``JournaledTable``/``JournaledTinyDB``/``open_tinydb``.
"""

from __future__ import annotations

from tutornb.store.journaled.storage import JournaledStorage
from tutornb.store.journaled.tables import Listener
from tutornb.store.journaled.tinydb_glue import JournaledTable, JournaledTinyDB, open_tinydb

__all__ = ["JournaledStorage", "JournaledTable", "JournaledTinyDB", "Listener", "open_tinydb"]
