"""The session store's contract: round trips, idempotent appends, lifecycle, listing and search."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutornb.errors import InvalidRequest, InvalidSessionState, SessionNotFound
from tutornb.models import (
    ActionLogEntry,
    Citation,
    CourseContext,
    Phase,
    Role,
    Status,
    StudyPlan,
    TutorState,
)
from tutornb.store import NewMessage, SessionQuery, SessionStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
LISTS = CourseContext(
    course_id="python-basics",
    course_title="Python basics",
    module_id="02-lists",
    module_title="Lists & loops",
    notebook_path="notebooks/02-lists.ipynb",
)


def _reopen(store: SessionStore) -> SessionStore:
    store.close()
    return SessionStore(store.path, background_compaction=False)


def test_session_round_trip_survives_reopen(store: SessionStore) -> None:
    # Given a session with messages, tutor state, a phase and an action log
    session = store.create_session("alice", LISTS, now=T0)
    store.append_message(session.id, NewMessage(Role.LEARNER, "What is a list?", client_id="c-1"))
    store.append_message(
        session.id,
        NewMessage(
            Role.TUTOR,
            "A list is *ordered*.",
            html="<p>A list is <em>ordered</em>.</p>",
            citations=(Citation(notebook_path="notebooks/02-lists.ipynb", cell_index=3, heading="Lists"),),
        ),
    )
    state = TutorState(topic="lists", mastery={"indexing": 0.5}, summary="Started lists.")
    store.update_tutor_state(
        session.id,
        state=state,
        phase=Phase.PLANNING,
        current_question_number=2,
        actions=[ActionLogEntry(action="phase_change", data={"to": "planning"}, reasoning="asked")],
    )

    # When the store is closed and opened again
    reopened = _reopen(store)
    detail = reopened.get_detail(session.id)

    # Then everything is as it was written
    assert detail.title == "Lists & loops"
    assert detail.context == LISTS
    assert detail.phase is Phase.PLANNING
    assert detail.current_question_number == 2
    assert detail.state == state
    assert [(m.seq, m.role, m.text) for m in detail.messages] == [
        (1, Role.LEARNER, "What is a list?"),
        (2, Role.TUTOR, "A list is *ordered*."),
    ]
    assert detail.messages[0].client_id == "c-1"
    assert detail.messages[1].html == "<p>A list is <em>ordered</em>.</p>"
    assert detail.messages[1].citations[0].cell_index == 3
    assert detail.message_count == 2
    assert [p.text for p in detail.preview] == ["What is a list?", "A list is *ordered*."]
    assert [a.action for a in reopened.actions(session.id)] == ["phase_change"]
    assert detail.created_at == T0
    reopened.close()


def test_append_is_idempotent_on_client_id(store: SessionStore) -> None:
    # Given a session with one learner message
    session = store.create_session("alice", LISTS)
    first = store.append_message(session.id, NewMessage(Role.LEARNER, "hello", client_id="abc"))

    # When the same client id is sent again (a retry after a lost ack), also after a reopen
    again = store.append_message(session.id, NewMessage(Role.LEARNER, "hello", client_id="abc"))
    reopened = _reopen(store)
    third = reopened.append_message(session.id, NewMessage(Role.LEARNER, "hello", client_id="abc"))

    # Then it is stored once and acknowledged with the stored message
    assert first.created
    assert not again.created
    assert not third.created
    assert again.message == first.message == third.message
    assert reopened.get_session(session.id).message_count == 1
    assert len(reopened.messages(session.id)) == 1
    reopened.close()


def test_find_client_message_and_batch(store: SessionStore) -> None:
    # Given a session where two messages are written in one batch, the second one refused
    session = store.create_session("alice", LISTS)
    with store.batch():
        store.append_message(session.id, NewMessage(Role.LEARNER, "first", client_id="c-1"))
        with pytest.raises(SessionNotFound):
            store.append_message("no-such-session", NewMessage(Role.LEARNER, "lost", client_id="c-2"))
        store.append_message(session.id, NewMessage(Role.LEARNER, "second", client_id="c-3"))

    # When messages are looked up by client id, also after a reopen
    reopened = _reopen(store)
    found = reopened.find_client_message(session.id, "c-3")

    # Then the batch's good writes are stored and found; an unknown client id finds nothing
    assert found is not None
    assert (found.seq, found.text) == (2, "second")
    assert reopened.find_client_message(session.id, "c-2") is None
    with pytest.raises(SessionNotFound):
        reopened.find_client_message("no-such-session", "c-1")
    reopened.close()


def test_messages_after_seq_and_limit(store: SessionStore) -> None:
    # Given a session with five messages
    session = store.create_session("alice", LISTS)
    for i in range(5):
        store.append_message(session.id, NewMessage(Role.LEARNER, f"m{i}"))

    # When messages are read after a seq, with a limit
    page = store.messages(session.id, after_seq=2, limit=2)

    # Then exactly those come back, in order
    assert [m.seq for m in page] == [3, 4]
    assert [m.seq for m in store.messages(session.id, after_seq=4)] == [5]
    assert store.messages(session.id, after_seq=5) == []


def test_status_machine_and_errors(store: SessionStore) -> None:
    # Given an active session
    session = store.create_session("alice", LISTS)

    # When it is paused twice, resumed, closed
    store.set_status(session.id, Status.PAUSED)
    with pytest.raises(InvalidSessionState):
        store.set_status(session.id, Status.PAUSED)
    store.set_status(session.id, Status.ACTIVE)
    closed = store.set_status(session.id, Status.CLOSED)

    # Then closed is final and takes no messages, and a bad phase jump is refused
    assert closed.status is Status.CLOSED
    with pytest.raises(InvalidSessionState):
        store.set_status(session.id, Status.ACTIVE)
    with pytest.raises(InvalidSessionState):
        store.append_message(session.id, NewMessage(Role.LEARNER, "late"))
    other = store.create_session("alice", LISTS)
    with pytest.raises(InvalidSessionState):
        store.update_tutor_state(other.id, phase=Phase.COMPLETED)
    assert store.get_session(other.id).phase is Phase.INTAKE


def test_unknown_and_foreign_sessions_are_not_found(store: SessionStore) -> None:
    # Given alice's session
    session = store.create_session("alice", LISTS)

    # When bob or an unknown / hostile id asks for it
    # Then it is not found
    with pytest.raises(SessionNotFound):
        store.get_session(session.id, owner="bob")
    for bad in ("nope", "../../etc/passwd", "", "a" * 65):
        with pytest.raises(SessionNotFound):
            store.get_detail(bad)
    with pytest.raises(SessionNotFound):
        store.append_message("missing", NewMessage(Role.LEARNER, "x"))


def test_closed_sessions_are_compressed_and_still_readable_and_searchable(
    store: SessionStore,
) -> None:
    # Given a session with a long transcript
    session = store.create_session("alice", LISTS)
    for i in range(60):
        store.append_message(
            session.id, NewMessage(Role.TUTOR, f"Paragraph {i}: lists keep their order. " * 5)
        )
    store.append_message(session.id, NewMessage(Role.LEARNER, "Zebra question"))
    before = store.get_detail(session.id).messages

    # When it is closed and the store compacted and reopened
    store.set_status(session.id, Status.CLOSED)
    store.compact()
    reopened = _reopen(store)

    # Then the transcript is one compressed document, reads back identically and is still searchable
    tables = reopened.db.tables()
    assert f"messages/{session.id}" not in tables
    assert f"archive/{session.id}" in tables
    packed = reopened.db.table(f"archive/{session.id}").get(doc_id=1)
    assert packed is not None
    assert len(packed["data"]) * 3 < packed["raw_bytes"]
    assert reopened.get_detail(session.id).messages == before
    assert reopened.list_sessions(SessionQuery(q="zebra")).total == 1
    assert [m.seq for m in reopened.messages(session.id, after_seq=59)] == [60, 61]
    reopened.close()


def _seed_listing(store: SessionStore) -> list[str]:
    ids = []
    for i in range(7):
        context = CourseContext(
            course_id="py" if i % 2 == 0 else "stats",
            module_id=f"m{i % 3}",
            notebook_path=f"nb{i % 3}.ipynb",
        )
        session = store.create_session(
            "alice" if i < 6 else "bob", context, title=f"Session {i}", now=T0 + timedelta(hours=i)
        )
        store.append_message(
            session.id,
            NewMessage(Role.LEARNER, "Tell me about Dictionaries" if i == 3 else f"note {i}"),
            now=T0 + timedelta(hours=i, minutes=5),
        )
        ids.append(session.id)
    store.set_status(ids[1], Status.PAUSED)
    store.set_status(ids[2], Status.CLOSED)
    return ids


def test_listing_filters_newest_first(store: SessionStore) -> None:
    # Given seven sessions across courses, modules, owners and statuses
    ids = _seed_listing(store)

    # When listing with each filter
    everything = store.list_sessions(SessionQuery())
    py = store.list_sessions(SessionQuery(course_id="py"))
    module = store.list_sessions(SessionQuery(module_id="m1", notebook_path="nb1.ipynb"))
    resumable = store.list_sessions(SessionQuery(statuses=frozenset({Status.ACTIVE, Status.PAUSED})))
    alice = store.list_sessions(SessionQuery(owner="alice"))

    # Then each answer holds exactly the matching sessions, newest activity first
    assert [s.id for s in everything.sessions] == list(reversed(ids))
    assert everything.total == 7
    assert {s.id for s in py.sessions} == {ids[0], ids[2], ids[4], ids[6]}
    assert {s.id for s in module.sessions} == {ids[1], ids[4]}
    assert ids[2] not in {s.id for s in resumable.sessions}
    assert resumable.total == 6
    assert alice.total == 6
    assert everything.sessions[0].preview[-1].text == "note 6"


def test_search_is_case_insensitive_over_titles_and_messages(store: SessionStore) -> None:
    # Given seven sessions, one of which mentions dictionaries
    ids = _seed_listing(store)

    # When searching
    by_message = store.list_sessions(SessionQuery(q="dictionARIES"))
    by_title = store.list_sessions(SessionQuery(q="session 5"))
    nothing = store.list_sessions(SessionQuery(q="quaternion"))
    combined = store.list_sessions(SessionQuery(q="note", course_id="stats"))

    # Then only sessions holding the text match, and filters still apply
    assert [s.id for s in by_message.sessions] == [ids[3]]
    assert by_message.total == 1
    assert [s.id for s in by_title.sessions] == [ids[5]]
    assert nothing.sessions == []
    assert nothing.total == 0
    assert {s.id for s in combined.sessions} == {ids[1], ids[5]}


def test_search_sees_messages_appended_after_an_earlier_search(store: SessionStore) -> None:
    # Given a session whose text was already searched (its search index is built)
    session = store.create_session("alice", LISTS)
    store.append_message(session.id, NewMessage(Role.LEARNER, "What is a list?"))
    assert store.list_sessions(SessionQuery(q="tuple")).total == 0

    # When more messages arrive, with searches in between and after
    store.append_message(session.id, NewMessage(Role.TUTOR, "A TUPLE cannot change."))
    after_one = store.list_sessions(SessionQuery(q="tuple")).total
    store.append_message(session.id, NewMessage(Role.LEARNER, "And a set"))
    store.append_message(session.id, NewMessage(Role.TUTOR, "holds unique items."))

    # Then every appended text is found, and no match spans two messages
    assert after_one == 1
    assert store.list_sessions(SessionQuery(q="tuple")).total == 1
    assert store.list_sessions(SessionQuery(q="unique items")).total == 1
    assert store.list_sessions(SessionQuery(q="list?")).total == 1
    assert store.list_sessions(SessionQuery(q="a setholds")).total == 0
    assert store.list_sessions(SessionQuery(q="a set holds")).total == 0


def test_cursor_pagination_is_stable_under_inserts(store: SessionStore) -> None:
    # Given seven sessions
    ids = _seed_listing(store)

    # When paging three at a time while a new session arrives between pages
    first = store.list_sessions(SessionQuery(limit=3))
    store.create_session("alice", LISTS, now=T0 + timedelta(days=3))
    assert first.next_cursor is not None
    second = store.list_sessions(SessionQuery(limit=3, cursor=first.next_cursor))
    assert second.next_cursor is not None
    third = store.list_sessions(SessionQuery(limit=3, cursor=second.next_cursor))

    # Then the pages cover the original sessions once each, in order, and the last has no cursor
    seen = [s.id for page in (first, second, third) for s in page.sessions]
    assert seen == list(reversed(ids))
    assert third.next_cursor is None
    assert second.total == 8


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_bad_limit_or_cursor_is_refused(store: SessionStore, limit: int) -> None:
    # Given a store; When a bad limit or cursor is asked; Then it is an invalid request
    with pytest.raises(InvalidRequest):
        store.list_sessions(SessionQuery(limit=limit))
    with pytest.raises(InvalidRequest):
        store.list_sessions(SessionQuery(cursor="%%%not-a-cursor"))


def test_export_import_rederives_counts_and_ids(store: SessionStore) -> None:
    # Given a session with messages and actions, exported
    session = store.create_session("alice", LISTS)
    for i in range(3):
        store.append_message(session.id, NewMessage(Role.LEARNER, f"m{i}", client_id=f"c{i}"))
    store.append_action(session.id, ActionLogEntry(action="quiz_graded", data={"score": 1}))
    exported = store.export_session(session.id)
    tampered = exported.model_copy(
        update={
            "session": exported.session.model_copy(update={"message_count": 99}),
            "messages": [m.model_copy(update={"seq": 10 * m.seq}) for m in exported.messages],
        }
    )

    # When it is imported (its id is taken) for another owner
    imported = store.import_session(tampered, owner="bob")

    # Then it gets a new id, re-derived counts and seqs, and the same transcript
    assert imported.id != session.id
    assert imported.owner == "bob"
    assert imported.message_count == 3
    detail = store.get_detail(imported.id)
    assert [m.seq for m in detail.messages] == [1, 2, 3]
    assert [m.text for m in detail.messages] == ["m0", "m1", "m2"]
    assert [a.action for a in store.actions(imported.id)] == ["quiz_graded"]
    again = store.append_message(imported.id, NewMessage(Role.LEARNER, "m0", client_id="c0"))
    assert not again.created


def test_expire_idle_closes_only_idle_open_sessions(store: SessionStore) -> None:
    # Given an old active session, an old paused one and a fresh one
    old = store.create_session("alice", LISTS, now=T0)
    paused = store.create_session("alice", LISTS, now=T0)
    store.set_status(paused.id, Status.PAUSED, now=T0)
    fresh = store.create_session("alice", LISTS, now=T0 + timedelta(days=30))

    # When sessions idle for more than 14 days expire
    closed = store.expire_idle(14, now=T0 + timedelta(days=31))

    # Then the two idle ones are closed, the fresh one is not
    assert set(closed) == {old.id, paused.id}
    assert store.get_session(old.id).status is Status.CLOSED
    assert store.get_session(fresh.id).status is Status.ACTIVE
    assert store.expire_idle(14, now=T0 + timedelta(days=31)) == []


def test_cleanup_deletes_closed_first(store: SessionStore) -> None:
    # Given four sessions, the oldest two active, one closed
    now = datetime.now(timezone.utc)
    a = store.create_session("alice", LISTS, now=now - timedelta(days=100))
    b = store.create_session("alice", LISTS, now=now - timedelta(days=90))
    c = store.create_session("alice", LISTS, now=now - timedelta(days=5))
    d = store.create_session("alice", LISTS, now=now - timedelta(days=1))
    store.set_status(c.id, Status.CLOSED)

    # When keeping at most two sessions, then removing those older than 95 days
    removed = store.cleanup(max_sessions=2)
    removed_old = store.cleanup(older_than_days=95)

    # Then the closed one goes first, then the oldest, and the old-age rule finds nothing left
    assert removed == [c.id, a.id]
    assert removed_old == []
    assert {s.id for s in store.list_sessions(SessionQuery()).sessions} == {b.id, d.id}
    assert store.cleanup(older_than_days=80) == [b.id]
    with pytest.raises(SessionNotFound):
        store.get_session(a.id)


def test_delete_session_removes_everything(store: SessionStore) -> None:
    # Given a session with messages, state and actions
    session = store.create_session("alice", LISTS)
    store.append_message(session.id, NewMessage(Role.LEARNER, "hi"))
    store.update_tutor_state(session.id, state=TutorState(topic="x"), actions=[ActionLogEntry(action="a")])

    # When it is deleted
    store.delete_session(session.id)

    # Then none of its tables remain and it is not found
    assert not [t for t in store.db.tables() if session.id in t]
    with pytest.raises(SessionNotFound):
        store.delete_session(session.id)


def test_plan_cache_expires(store: SessionStore) -> None:
    # Given a cached plan with a short and one with an expired lifetime
    store.put_plan("lists", StudyPlan(topic="lists"), timedelta(hours=1))
    store.put_plan("old", StudyPlan(topic="old"), timedelta(seconds=-1))

    # When read back (also replacing one)
    store.put_plan("lists", StudyPlan(topic="lists v2"), timedelta(hours=1))

    # Then only the live one is served, with its latest value
    plan = store.get_plan("lists")
    assert plan is not None
    assert plan.topic == "lists v2"
    assert store.get_plan("old") is None
    assert store.get_plan("missing") is None


def test_stats_and_private_files(store: SessionStore, tmp_path: Path) -> None:
    # Given a store with one session and two messages
    session = store.create_session("alice", LISTS)
    store.append_message(session.id, NewMessage(Role.LEARNER, "a"))
    store.append_message(session.id, NewMessage(Role.TUTOR, "b"))

    # When its stats are read
    stats = store.stats()

    # Then counts and bytes are right, no absolute path leaks, files are private
    assert (stats.sessions, stats.messages) == (1, 2)
    assert stats.bytes > 0
    assert stats.recovered == []
    assert not stats.path.startswith("/")
    assert (store.path.stat().st_mode & 0o777) == 0o700
    for item in store.path.iterdir():
        assert (item.stat().st_mode & 0o777) == 0o600, item.name


def test_large_session_over_ten_megabytes(store: SessionStore) -> None:
    # Given a session whose transcript is over 10 MB
    session = store.create_session("alice", LISTS)
    chunk = "".join(chr(0x41 + (i * 7) % 26) for i in range(100_000))
    for i in range(110):
        store.append_message(session.id, NewMessage(Role.TUTOR, f"{i}:{chunk}"))

    # When it is compacted, reopened, closed (compressed) and reopened again
    store.compact()
    reopened = _reopen(store)
    assert len(reopened.get_detail(session.id).messages) == 110
    reopened.set_status(session.id, Status.CLOSED)
    final = _reopen(reopened)

    # Then every message is intact
    messages = final.get_detail(session.id).messages
    assert len(messages) == 110
    assert messages[-1].text == f"109:{chunk}"
    final.close()


def test_search_on_a_freshly_opened_store_is_exact(store: SessionStore) -> None:
    # Given transcripts with quotes, backslashes, newlines, non-ASCII text and an open + closed one
    quoted = store.create_session("alice", LISTS)
    store.append_message(quoted.id, NewMessage(Role.LEARNER, 'He said "Hi"\nthen C:\\Temp'))
    kelvin = store.create_session("alice", LISTS)
    store.append_message(kelvin.id, NewMessage(Role.LEARNER, "the \u212aEY point"))  # Kelvin sign
    umlaut = store.create_session("alice", LISTS)
    store.append_message(umlaut.id, NewMessage(Role.TUTOR, "ÄPFEL und Birnen"))
    store.set_status(umlaut.id, Status.CLOSED)
    store.compact()
    reopened = _reopen(store)

    def found(q: str) -> set[str]:
        return {s.id for s in reopened.list_sessions(SessionQuery(q=q)).sessions}

    # When searching before any transcript was parsed
    # Then every match is found, and JSON syntax or field names never match
    assert found('said "hi"\nthen c:\\temp') == {quoted.id}
    assert found("key point") == {kelvin.id}
    assert found("äpfel") == {umlaut.id}
    assert found("birnen") == {umlaut.id}
    assert found('"text"') == set()
    assert found("created_at") == set()
    reopened.close()
