"""A real ``jupyter server`` with a chat socket, SIGKILLed at random moments: no acknowledged
message is ever lost or stored twice, and the store always opens.

Each trial starts the server, opens a chat socket on a new session and streams learner messages as
fast as the server acknowledges them (the course tutor answers each one, so tutor turns, state
updates and compaction are in flight too), then kills the server with SIGKILL after a random delay.
While it is down, the store must open in this process; after a restart, REST must show every ``ack``
the client received exactly once, and a resend of everything the client sent (what the widget's
outbox does after a reconnect) must be acknowledged without storing anything twice.

``TUTORNB_CRASH_TRIALS`` sets the number of trials (default 5: each restarts a server, and this was
the slowest test of the suite); ``bench/hostile.py --crash-trials`` runs the long form.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from tests.support.live_server import LiveServer
from tests.support.server_kill import CrashTrial, run_kill_trial

TRIALS = int(os.environ.get("TUTORNB_CRASH_TRIALS", "5"))


@pytest.fixture(scope="module")
def crash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Rate limit off: the trial wants as many writes in flight as possible when the kill lands.
    server = LiveServer(tmp_path_factory.mktemp("server-crash"), tutornb={"rate_limit_per_minute": 0})
    try:
        yield server
    finally:
        server.stop()


def test_sigkill_at_random_moments_loses_no_acknowledged_message(crash_server: LiveServer) -> None:
    rng = random.Random(20240607)
    trials: list[CrashTrial] = []
    for number in range(TRIALS):
        # Given a running server and a socket streaming learner messages
        # When the server is SIGKILLed at a random moment and restarted
        trial = run_kill_trial(crash_server, number, delay=rng.uniform(0.05, 1.2))
        trials.append(trial)
        # Then the store opened while the server was down, and after the restart every
        # acknowledged message is there exactly once, and a full resend stores nothing twice
        assert trial.store_opened, trial
        assert trial.lost == [], trial
        assert trial.duplicated == [], trial
        assert trial.resend_unacked == [], trial
    # And the trials really raced the writes: most kills landed with messages in flight
    assert sum(t.acked for t in trials) > 0
    assert sum(1 for t in trials if t.sent > t.acked) >= TRIALS // 2, [(t.sent, t.acked) for t in trials]
    # And the server that came back after the last kill serves every trial's session
    with crash_server.client() as client:
        status = client.get("status")
    assert status.status_code == 200
    assert status.json()["store"]["sessions"] == TRIALS
    crash_server.stop()
