"""`%tutor ask` goes to the notebook's active session or a new one, never a paused one (issue 19)."""

from __future__ import annotations

from .conftest import NOTEBOOK, Shell


def sessions_of(shell: Shell) -> list[tuple[str, str, int]]:
    """(id, status, message count) of this notebook's sessions, newest first."""
    service = shell.magic.runtime.service
    page = service.list_sessions(shell.magic.owner, {"notebook_path": NOTEBOOK})
    return [(s.id, s.status.value, s.message_count) for s in page.sessions]


def test_ask_continues_the_active_session(shell: Shell) -> None:
    shell.ask("What is a list?")
    shell.ask("And a loop?")
    [(_, status, count)] = sessions_of(shell)
    assert status == "active"
    assert count == 4


def test_ask_never_reopens_a_paused_session_and_says_where_it_went(shell: Shell) -> None:
    # Given a session the learner paused
    shell.ask("What is a list?")
    shell.run("pause")
    [(paused_id, status, count)] = sessions_of(shell)
    assert (status, count) == ("paused", 2)

    # When they ask headlessly
    plain, markdown, err = shell.ask("How does break work?")

    # Then the question went to a new active session, the paused one is untouched, and the reply says so
    assert err == ""
    sessions = dict((sid, (st, n)) for sid, st, n in sessions_of(shell))
    assert sessions.pop(paused_id) == ("paused", 2)
    [(new_status, new_count)] = sessions.values()
    assert (new_status, new_count) == ("active", 2)
    assert f"%tutor resume {paused_id}" in plain
    assert f"%tutor resume {paused_id}" in markdown

    # And the next question continues that new session (no note any more: the paused one is older)
    plain, _, _ = shell.ask("And continue?")
    assert len(sessions_of(shell)) == 2
    assert "%tutor resume" not in plain
