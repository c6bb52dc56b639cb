"""Long-form crash trials for the session store (the test suite runs a reduced form).

``python -m bench.crash --trials 500`` kills a writer process with SIGKILL at random moments,
``--trials``
times, checking after every kill that the store opens and holds every acknowledged message exactly
once;
then runs two writers (one or both killed at random, ``--rounds`` times) and the unlocked negative
control,
which the harness must catch failing. Prints trials, unreadable stores, lost and duplicated
acknowledgements.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.support import store_harness as harness


def kill_trials(root: Path, trials: int, rng: random.Random) -> dict[str, int]:
    folder = root / "kill"
    (session_id,) = harness.create_sessions(folder, 1)
    acked: set[str] = set()
    unreadable = lost = duplicated = failing = 0
    for trial in range(trials):
        verdict = harness.kill_trial(folder, session_id, trial, acked, rng)
        unreadable += not verdict.readable
        lost = max(lost, verdict.lost)  # cumulative over the whole store: the worst trial counts
        duplicated = max(duplicated, verdict.duplicated)
        failing += not verdict.ok
        if (trial + 1) % 50 == 0:
            print(f"  {trial + 1} kill trials, {len(acked)} acknowledged", file=sys.stderr)
    return {
        "trials": trials,
        "acknowledged": len(acked),
        "unreadable": unreadable,
        "lost": lost,
        "duplicated": duplicated,
        "failing_trials": failing,
    }


def two_writer_trials(root: Path, rounds: int, rng: random.Random, *, lock: bool) -> dict[str, int]:
    folder = root / ("two-locked" if lock else "two-unlocked")
    sessions = harness.create_sessions(folder, 2)
    acked: set[str] = set()
    unreadable = lost = duplicated = failing = 0
    for round_no in range(rounds):
        verdict = harness.two_writer_round(folder, sessions, round_no, acked, rng, lock=lock)
        unreadable += not verdict.readable
        lost = max(lost, verdict.lost)
        duplicated = max(duplicated, verdict.duplicated)
        failing += not verdict.ok
        if not verdict.readable and not lock:
            # An unlocked store may end up unreadable: start the control over on a fresh one.
            shutil.rmtree(folder, ignore_errors=True)
            sessions = harness.create_sessions(folder, 2)
            acked = set()
    return {
        "rounds": rounds,
        "acknowledged": len(acked),
        "unreadable": unreadable,
        "lost": lost,
        "duplicated": duplicated,
        "failing_rounds": failing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=500, help="single-writer kill trials")
    parser.add_argument("--rounds", type=int, default=None, help="two-writer rounds (trials / 5)")
    parser.add_argument("--control-rounds", type=int, default=20, help="unlocked control rounds")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    # The unlocked control makes stores recover all the time: keep its warnings off the report.
    logging.getLogger("tutornb.store").setLevel(logging.ERROR)
    rounds = args.rounds if args.rounds is not None else max(10, args.trials // 5)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="tutornb-crash-"))
    try:
        started = time.perf_counter()
        kills = kill_trials(root, args.trials, rng)
        two = two_writer_trials(root, rounds, rng, lock=True)
        control = two_writer_trials(root, args.control_rounds, rng, lock=False)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"# tutornb crash trials (seed {args.seed}, {elapsed:.0f} s)\n")
    print("| harness | trials | acknowledged | unreadable stores | lost acks | duplicated |")
    print("|---|---|---|---|---|---|")
    print(
        f"| SIGKILL one writer | {kills['trials']} | {kills['acknowledged']} | "
        f"{kills['unreadable']} | {kills['lost']} | {kills['duplicated']} |"
    )
    print(
        f"| two writers, random kills | {two['rounds']} | {two['acknowledged']} | "
        f"{two['unreadable']} | {two['lost']} | {two['duplicated']} |"
    )
    print(
        f"\nNegative control (writers skipping the lock): {control['failing_rounds']} of "
        f"{control['rounds']} rounds detected as failing "
        f"({control['unreadable']} unreadable, up to {control['lost']} lost acks)."
    )
    ok = not (kills["failing_trials"] or two["failing_rounds"]) and control["failing_rounds"] > 0
    print("\nRESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
