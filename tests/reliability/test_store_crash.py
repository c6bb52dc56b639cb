"""Store-level crash and concurrency trials: SIGKILL at random moments, two writers, and a negative
control.

Every trial checks what a learner cares about: the store opens, and every acknowledged message is
there
exactly once, in order.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.support import store_harness as harness

KILL_TRIALS = 60


def test_kill_nine_never_loses_an_acknowledged_message(tmp_path: Path) -> None:
    # Given a store with a session, and a writer that compacts often (so kills land mid-compaction
    # too)
    folder = tmp_path / ".tutornb"
    (session_id,) = harness.create_sessions(folder, 1)
    acked: set[str] = set()
    rng = random.Random(20260509)
    failures = []

    # When a writer appending in a loop is killed with SIGKILL at a random moment, 60 times
    for trial in range(KILL_TRIALS):
        verdict = harness.kill_trial(folder, session_id, trial, acked, rng)
        if not verdict.ok:
            failures.append((trial, verdict))

    # Then after every kill the store opened and held every acknowledged message exactly once
    assert failures == []
    assert len(acked) > KILL_TRIALS  # the writers did get work acknowledged between kills
    assert (folder / "snapshot.jsonl.bak").exists()  # compactions happened during the trials


def test_two_processes_append_a_thousand_each_to_one_session(tmp_path: Path) -> None:
    # Given one session
    folder = tmp_path / ".tutornb"
    (session_id,) = harness.create_sessions(folder, 1)
    acked: set[str] = set()

    # When two processes append 1,000 messages each to it at the same time
    verdict = harness.two_writer_round(
        folder, [session_id], 0, acked, random.Random(1), kill=False, count=1000
    )

    # Then all 2,000 are there once each, numbered 1..2,000
    assert acked == {f"r0w{w}-{i}" for w in range(2) for i in range(1000)}
    assert verdict.ok, verdict
    harness_store = harness.SessionStore(folder, background_compaction=False)
    assert harness_store.get_session(session_id).message_count == 2000
    harness_store.close()


def test_two_writers_with_random_kills(tmp_path: Path) -> None:
    # Given two sessions written by two processes (a server and a kernel)
    folder = tmp_path / ".tutornb"
    sessions = harness.create_sessions(folder, 2)
    acked: set[str] = set()
    rng = random.Random(7)

    # When both write concurrently and one or both are killed at random moments, 12 rounds
    verdicts = [harness.two_writer_round(folder, sessions, n, acked, rng) for n in range(12)]

    # Then no round lost, duplicated or broke anything
    assert [v for v in verdicts if not v.ok] == []
    assert len(acked) > 24


def test_negative_control_unlocked_writers_are_detected(tmp_path: Path) -> None:
    # Given the same harness, but writers that skip the store lock (the bug the lock prevents)
    folder = tmp_path / ".tutornb"
    (session_id,) = harness.create_sessions(folder, 1)
    acked: set[str] = set()
    rng = random.Random(3)

    # When two unlocked writers append to one session, with and without kills
    verdicts = [
        harness.two_writer_round(folder, [session_id], 0, acked, rng, lock=False, kill=False, count=300),
        *(harness.two_writer_round(folder, [session_id], n, acked, rng, lock=False) for n in range(1, 4)),
    ]

    # Then the harness notices: lost or duplicated acknowledged messages, or a broken store
    assert any(not v.ok for v in verdicts), "the harness failed to detect unlocked writers"
