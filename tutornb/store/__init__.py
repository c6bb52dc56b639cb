"""The durable session store: a TinyDB database on a journaled storage, and the session store on it.

``open_tinydb(path)`` gives a plain ``TinyDB`` (durable, fast, safe across processes);
``SessionStore`` is what the service and the CLI use.
"""

from __future__ import annotations

from tutornb.store.api import AppendResult, NewMessage, SessionQuery, SessionStoreAPI
from tutornb.store.journaled import JournaledStorage, JournaledTable, JournaledTinyDB, open_tinydb
from tutornb.store.sessions import SessionStore

__all__ = [
    "AppendResult",
    "JournaledStorage",
    "JournaledTable",
    "JournaledTinyDB",
    "NewMessage",
    "SessionQuery",
    "SessionStore",
    "SessionStoreAPI",
    "open_tinydb",
]
