"""Store benchmark: durable appends against the peers, and the operations a learner waits for.

Run ``python -m bench.store`` (a few minutes) or ``python -m bench.store --quick``. Prints Markdown
tables:

* median and p99 milliseconds per durable append at 100 / 1,000 / 10,000 / 50,000 stored messages,
  for
  tutornb's store, stock TinyDB (``JSONStorage``), SQLite (WAL, ``synchronous=FULL``) and a bare
  JSON-lines
  append + fsync (the physical floor), with ratios to the floor;
* cold open of a 50,000-message store (in a fresh process), a history page (30 newest of 2,000
  sessions),
  full-text search, restoring a 1,000-message session;
* the compression ratio of closed sessions and the disk size of 30 sessions x 200 messages.

Every append in every system is durable (fsync'd) before the timer stops.
"""

from __future__ import annotations

import abc
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import JSONStorage

from tutornb.models import (
    Citation,
    CourseContext,
    Message,
    Role,
    Session,
    SessionExport,
    Status,
)
from tutornb.store import NewMessage, SessionQuery, SessionStore
from tutornb.store import archive as archive_codec

_VOCABULARY = (
    "list loop index slice append extend tuple dictionary key value function return argument "
    "variable string integer float boolean range iterate comprehension mutable immutable "
    "element method object python notebook cell example error exception print sorted reverse "
    "length the a of to and in is it that for you this with as can be on are your we"
)
WORDS = _VOCABULARY.split()
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def message_text(rng: random.Random, role: Role) -> str:
    if role is Role.LEARNER:
        return sentence(rng, rng.randint(5, 18))
    return " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(2, 6)))


def make_export(rng: random.Random, index: int, messages: int, status: Status) -> SessionExport:
    start = T0 + timedelta(hours=index)
    session = Session(
        id=f"bench{index:06d}",
        owner="learner",
        status=status,
        context=CourseContext(
            course_id=f"course-{index % 5}",
            module_id=f"module-{index % 23}",
            module_title=f"Module {index % 23}",
            notebook_path=f"notebooks/{index % 23:02d}.ipynb",
        ),
        title=f"Module {index % 23}: session {index}",
        created_at=start,
        updated_at=start,
        last_active_at=start + timedelta(minutes=messages),
        message_count=messages,
    )
    items = []
    for seq in range(1, messages + 1):
        role = Role.LEARNER if seq % 2 else Role.TUTOR
        items.append(
            Message(
                id=f"m{index}-{seq}",
                seq=seq,
                role=role,
                text=message_text(rng, role),
                created_at=start + timedelta(minutes=seq),
                client_id=f"c{index}-{seq}" if role is Role.LEARNER else None,
                citations=[Citation(notebook_path="notebooks/01.ipynb", cell_index=seq % 9, heading="Lists")]
                if role is Role.TUTOR
                else [],
            )
        )
    return SessionExport(session=session, messages=items)


def summarize(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(fn: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


# ------------------------------------------------------------------------------------------
# The four systems, each prepared with N stored messages, then measured interleaved (one append of
# each
# in turn) so that background load on the machine weighs on all of them alike.


def _doc(rng: random.Random, seq: int) -> dict[str, Any]:
    role = Role.LEARNER if seq % 2 else Role.TUTOR
    return {
        "session_id": "s",
        "seq": seq,
        "role": role.value,
        "text": message_text(rng, role),
        "created_at": T0.isoformat(),
    }


class System(abc.ABC):
    """One storage under test: each subclass appends one durable message per call."""

    name = ""

    def __init__(self, folder: Path, size: int, rng: random.Random) -> None:
        self.folder = folder
        self.size = size
        self.rng = rng
        self.next = size + 1

    @abc.abstractmethod
    def append(self) -> None: ...

    def close(self) -> None:  # most storages hold nothing open
        return None


class Tutornb(System):
    name = "tutornb"

    def __init__(self, folder: Path, size: int, rng: random.Random) -> None:
        super().__init__(folder, size, rng)
        self.store = SessionStore(folder)
        per_session = 200
        full, rest = divmod(size, per_session)
        for index in range(full + (1 if rest else 0)):
            count = per_session if index < full else rest
            self.store.import_session(make_export(rng, index, count, Status.ACTIVE), owner="learner")
        self.target = self.store.create_session("learner", CourseContext(course_id="course-0")).id

    def append(self) -> None:
        n = self.next
        self.next += 1
        role = Role.LEARNER if n % 2 == 0 else Role.TUTOR
        self.store.append_message(
            self.target, NewMessage(role, message_text(self.rng, role), client_id=f"bench-{n}")
        )

    def close(self) -> None:
        self.store.close()


class StockTinyDB(System):
    name = "TinyDB JSONStorage"

    def __init__(self, folder: Path, size: int, rng: random.Random) -> None:
        super().__init__(folder, size, rng)
        self.db = TinyDB(folder / "db.json", storage=JSONStorage)
        self.messages = self.db.table("messages")
        self.messages.insert_multiple(_doc(rng, seq) for seq in range(1, size + 1))

    def append(self) -> None:
        self.messages.insert(_doc(self.rng, self.next))
        self.next += 1

    def close(self) -> None:
        self.db.close()


class SQLite(System):
    name = "SQLite WAL FULL"

    def __init__(self, folder: Path, size: int, rng: random.Random) -> None:
        super().__init__(folder, size, rng)
        con = sqlite3.connect(folder / "db.sqlite", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute(
            "CREATE TABLE messages (session_id TEXT, seq INTEGER, body TEXT, PRIMARY KEY (session_id, seq))"
        )
        con.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, message_count INTEGER)")
        con.execute("INSERT INTO sessions VALUES ('s', 0)")
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO messages VALUES ('s', ?, ?)",
            ((seq, json.dumps(_doc(rng, seq))) for seq in range(1, size + 1)),
        )
        con.execute("COMMIT")
        self.con = con

    def append(self) -> None:
        seq = self.next
        self.next += 1
        self.con.execute("BEGIN")
        self.con.execute("INSERT INTO messages VALUES ('s', ?, ?)", (seq, json.dumps(_doc(self.rng, seq))))
        self.con.execute("UPDATE sessions SET message_count = ? WHERE id = 's'", (seq,))
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()


class Bare(System):
    name = "bare JSONL+fsync"

    def __init__(self, folder: Path, size: int, rng: random.Random) -> None:
        super().__init__(folder, size, rng)
        path = folder / "lines.jsonl"
        with open(path, "w") as handle:
            for seq in range(1, size + 1):
                handle.write(json.dumps(_doc(rng, seq)) + "\n")
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    def append(self) -> None:
        os.write(self.fd, (json.dumps(_doc(self.rng, self.next)) + "\n").encode())
        self.next += 1
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


SYSTEMS: list[type[System]] = [Tutornb, StockTinyDB, SQLite, Bare]
STOCK_SAMPLES = {100: 100, 1000: 40, 10_000: 12, 50_000: 5}


def measure_size(root: Path, size: int, samples: int, rng: random.Random) -> dict[str, list[float]]:
    systems = []
    for cls in SYSTEMS:
        folder = root / f"{cls.__name__}-{size}"
        folder.mkdir()
        systems.append(cls(folder, size, rng))
    os.sync()  # the build phase's dirty pages must not land on the first measured fsyncs
    for system in systems:  # warm-up
        for _ in range(3 if isinstance(system, StockTinyDB) else 20):
            system.append()
    os.sync()
    times: dict[str, list[float]] = {system.name: [] for system in systems}
    times["tutornb CPU"] = []
    times["bare CPU"] = []
    light = [system for system in systems if not isinstance(system, StockTinyDB)]
    for _ in range(samples):
        for system in light:
            cpu = time.process_time()
            start = time.perf_counter()
            system.append()
            times[system.name].append(time.perf_counter() - start)
            if isinstance(system, (Tutornb, Bare)):
                key = "tutornb CPU" if isinstance(system, Tutornb) else "bare CPU"
                times[key].append(time.process_time() - cpu)
    # Stock TinyDB rewrites (and fsyncs) the whole file per append: measured on its own, so its
    # tens of megabytes of writes do not slow the other systems' fsyncs down.
    for system in systems:
        if isinstance(system, StockTinyDB):
            os.sync()
            times[system.name] = timed(system.append, STOCK_SAMPLES[size])
    for system in systems:
        system.close()
        shutil.rmtree(system.folder)
    return times


# ------------------------------------------------------------------------------------------
# Learner-facing operations on a 2,000-session, 50,000-message store


def build_history_store(folder: Path, sessions: int, per_session: int, rng: random.Random) -> str:
    store = SessionStore(folder)
    big = store.import_session(make_export(rng, 10**5, 1000, Status.PAUSED), owner="learner")
    for index in range(sessions):
        store.import_session(make_export(rng, index, per_session, Status.ACTIVE), owner="learner")
    store.compact()
    store.close()
    return big.id


COLD_OPEN = """
import json, sys, time
from tutornb.store import SessionQuery, SessionStore
cpu = time.process_time()
start = time.perf_counter()
store = SessionStore(sys.argv[1])
page = store.list_sessions(SessionQuery(limit=30))
opened = time.perf_counter() - start
opened_cpu = time.process_time() - cpu
start = time.perf_counter()
detail = store.get_detail(sys.argv[2])
restore = time.perf_counter() - start
start = time.perf_counter()
found = store.list_sessions(SessionQuery(q="quaternion"))
search = time.perf_counter() - start
print(json.dumps({"open": opened, "open_cpu": opened_cpu, "restore": restore, "search": search,
                  "messages": store.stats().messages}))
store.close()
"""


def cold_run(folder: Path, big_id: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", COLD_OPEN, str(folder), big_id],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer samples")
    args = parser.parse_args()
    rng = random.Random(2026)
    sizes = [100, 1000, 10_000] if args.quick else [100, 1000, 10_000, 50_000]
    root = Path(tempfile.mkdtemp(prefix="tutornb-bench-"))
    print(f"# tutornb store benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs)\n")
    try:
        names = [cls.name for cls in SYSTEMS]
        results: dict[str, dict[int, tuple[float, float]]] = {
            n: {} for n in [*names, "tutornb CPU", "bare CPU"]
        }
        for size in sizes:
            samples = 300 if args.quick else 1000
            for name, values in measure_size(root, size, samples, rng).items():
                results[name][size] = summarize(values)
            print(f"  measured {size:,} messages", file=sys.stderr)
        print("## Durable append (ms per message, median / p99)\n")
        header = "| stored messages | " + " | ".join(names) + " | tutornb ÷ bare (p50) |"
        print(header)
        print("|" + "---|" * (len(names) + 2))
        for size in sizes:
            cells = [f"{results[n][size][0]:.2f} / {results[n][size][1]:.2f}" for n in names]
            ratio = results["tutornb"][size][0] / results["bare JSONL+fsync"][size][0]
            print(f"| {size:,} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
        cpu = ", ".join(
            f"{results['tutornb CPU'][size][0]:.2f} vs {results['bare CPU'][size][0]:.2f}" for size in sizes
        )
        print(
            f"\nCPU time per append, tutornb vs bare (median ms, incl. the kernel's fsync work), "
            f"by size: {cpu}."
        )
        flat = results["tutornb"][sizes[-1]][0] / results["tutornb"][sizes[0]][0]
        ratios = [results["tutornb"][n][0] / results["bare JSONL+fsync"][n][0] for n in sizes]
        flat_vs_bare = ratios[-1] / ratios[0]
        tinydb_ratio = results["TinyDB JSONStorage"][sizes[-1]][0] / results["tutornb"][sizes[-1]][0]
        print(
            f"\nFlatness: tutornb p50 at {sizes[-1]:,} ÷ at {sizes[0]:,} = {flat:.2f} "
            f"(target ≤ 1.5); relative to the bare append measured alongside it "
            f"(which cancels the machine's changing load): {flat_vs_bare:.2f}. "
            f"Stock TinyDB is {tinydb_ratio:.0f}x slower at {sizes[-1]:,}.\n"
        )

        sessions = 400 if args.quick else 2000
        per_session = 25
        history = root / "history"
        big_id = build_history_store(history, sessions, per_session, rng)
        total = sessions * per_session + 1000
        cold = [cold_run(history, big_id) for _ in range(3)]
        cold_open = statistics.median(c["open"] for c in cold) * 1000
        cold_open_cpu = statistics.median(c["open_cpu"] for c in cold) * 1000
        cold_restore = statistics.median(c["restore"] for c in cold) * 1000
        cold_search = statistics.median(c["search"] for c in cold) * 1000
        store = SessionStore(history)
        page = summarize(timed(lambda: store.list_sessions(SessionQuery(limit=30)), 200))
        store.list_sessions(SessionQuery(q="zzz"))
        queries = iter(["quaternion", "comprehension loop", "Module 7", "MUTABLE ELEMENT"] * 50)
        search = summarize(timed(lambda: store.list_sessions(SessionQuery(q=next(queries))), 40))
        store.get_detail(big_id)
        restore = summarize(timed(lambda: store.get_detail(big_id), 30))
        store.close()
        print(f"## Learner-facing operations ({sessions:,} sessions, {total:,} messages)\n")
        print("| operation | measured (ms) | target (ms) |")
        print("|---|---|---|")
        print(
            f"| cold open + first history page, fresh process (wall; CPU) | {cold_open:.1f}; "
            f"{cold_open_cpu:.1f} | ≤ 150 |"
        )
        print(
            f"| history page: 30 newest of {sessions:,} (median / p99) | "
            f"{page[0]:.2f} / {page[1]:.2f} | ≤ 10 |"
        )
        print(f"| full-text search, warm (median / p99) | {search[0]:.1f} / {search[1]:.1f} | ≤ 100 |")
        print(f"| full-text search, first after a cold open | {cold_search:.1f} | — |")
        print(
            f"| restore a 1,000-message session, warm (median / p99) | "
            f"{restore[0]:.2f} / {restore[1]:.2f} | ≤ 10 |"
        )
        print(f"| restore a 1,000-message session, first after a cold open | {cold_restore:.1f} | — |")

        small = root / "thirty"
        store = SessionStore(small, background_compaction=False)
        ids = []
        for index in range(30):
            export = make_export(rng, index, 200, Status.ACTIVE)
            session = store.create_session("learner", export.session.context)
            for message in export.messages:
                store.append_message(
                    session.id,
                    NewMessage(
                        message.role,
                        message.text,
                        client_id=message.client_id,
                        citations=tuple(message.citations),
                    ),
                )
            ids.append(session.id)
        live = store.stats().bytes
        on_disk = folder_bytes(small)
        store.compact()
        compacted = store.stats().bytes
        for sid in ids:
            store.set_status(sid, Status.CLOSED)
        store.compact()
        closed_bytes = store.stats().bytes
        ratios = [archive_codec.ratio(store.db.table(f"archive/{sid}").get(doc_id=1) or {}) for sid in ids]
        store.close()
        print("\n## Size\n")
        print("| 30 sessions x 200 messages | bytes |")
        print("|---|---|")
        print(f"| as written (snapshot + journal) | {live:,} |")
        print(f"| whole folder as written (incl. backup + previous journal) | {on_disk:,} |")
        print(f"| after compaction | {compacted:,} |")
        print(f"| all closed (compressed) and compacted | {closed_bytes:,} |")
        print(
            f"\nClosed-session compression ratio: {statistics.median(ratios):.1f}x "
            "(JSON of the messages ÷ stored archive document). "
            "Target for 30x200: ≤ 5,000,000 bytes."
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
