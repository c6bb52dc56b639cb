"""The ``%tutor`` line magic (``%load_ext tutornb``).

Every sub-command goes through the kernel's :class:`~tutornb.service.TutorService` (see
:func:`tutornb.kernel.runtime.kernel_runtime`), exactly like the panel's comm transport. Errors are one
line on stderr, never a traceback: a learner running a notebook should see what to do, not where it
broke.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from tutornb import queryparams
from tutornb.errors import InvalidRequest, TutorNBError
from tutornb.kernel.context import NotebookContext, current_context
from tutornb.kernel.display import history_table, message_markdown, message_text, wants_work, work_note
from tutornb.kernel.lastrun import work_tracker
from tutornb.kernel.runtime import KernelRuntime, kernel_owner, kernel_runtime
from tutornb.kernel.serverask import ask_server, server_route
from tutornb.models import (
    LearnerWork,
    Message,
    SessionSummary,
    Status,
    is_valid_session_id,
)

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from tutornb.instructor.reports.sharing import ShareFlow
    from tutornb.kernel.receipt import ReceiptFlow
    from tutornb.service import NotebookAnswer, TutorService
    from tutornb.widget import ChatPanel

USAGE = (
    "usage: %tutor [resume [ID] | history [QUERY] [--course ID] [--module ID] [--status S]"
    " [--limit N] | ask [--work|--no-work] TEXT | pause | close"
    " | export [--format json|markdown|ipynb] [PATH] | status | share [--include-questions] [--confirm]"
    " | receipt [--confirm]]"
)


class UsageError(Exception):
    """Bad arguments: shown as the usage line plus what was wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or "")


def _history_parser() -> _Parser:
    parser = _Parser(prog="%tutor history", add_help=False)
    parser.add_argument("query", nargs="*")
    parser.add_argument("--course")
    parser.add_argument("--module")
    parser.add_argument("--status")
    parser.add_argument("--limit", type=int, default=20)
    return parser


def _export_parser() -> _Parser:
    parser = _Parser(prog="%tutor export", add_help=False)
    parser.add_argument("--format", choices=["json", "markdown", "ipynb"], default="json")
    parser.add_argument("path", nargs="?")
    return parser


class TutorMagic:
    """``%tutor`` and its sub-commands; one instance per shell."""

    def __init__(
        self,
        shell: InteractiveShell | None = None,
        *,
        runtime: Callable[[], KernelRuntime] = kernel_runtime,
        context: Callable[[], NotebookContext] = current_context,
    ) -> None:
        self.shell = shell
        self._runtime = runtime
        self._context = context
        self.owner = kernel_owner()
        #: The panel the last ``%tutor`` / ``%tutor resume`` displayed (scripts and tests use it).
        self.last_panel: ChatPanel | None = None
        self._share: ShareFlow | None = None
        self._receipt: ReceiptFlow | None = None
        #: The session these magics used last while the notebook was unknown (its "current" one).
        self._session_id: str | None = None

    # -- entry point
    # ------------------------------------------------------------------------------------

    def __call__(self, line: str) -> None:
        try:
            args = shlex.split(line)
        except ValueError as exc:
            self._usage(f"could not read the arguments ({exc})")
            return
        command, rest = (args[0], args[1:]) if args else ("open", [])
        handler = self._commands().get(command)
        if handler is None:
            self._usage(f"unknown command {command!r}")
            return
        try:
            handler(rest)
        except UsageError as exc:
            self._usage(str(exc).strip())
        except TutorNBError as exc:
            self._fail(exc.message)
        except TimeoutError:
            self._fail("the tutor did not answer in time; try again.")
        except Exception as exc:  # one clear line, never a traceback in a learner's notebook
            self._fail(f"unexpected {type(exc).__name__}; nothing was lost, try again.")

    def _commands(self) -> dict[str, Callable[[list[str]], None]]:
        return {
            "open": self.open,
            "resume": self.resume,
            "history": self.history,
            "ask": self.ask,
            "pause": self.pause,
            "close": self.close,
            "export": self.export,
            "status": self.status,
            "share": self.share,
            "receipt": self.receipt,
            "help": lambda _args: print(USAGE),
        }

    def _usage(self, problem: str) -> None:
        print(f"tutornb: {problem}\n{USAGE}" if problem else USAGE, file=sys.stderr)

    def _fail(self, message: str) -> None:
        print(f"tutornb: {message}", file=sys.stderr)

    # -- helpers
    # ----------------------------------------------------------------------------------------

    @property
    def runtime(self) -> KernelRuntime:
        return self._runtime()

    def _call(self, work: Callable[[TutorService], Any]) -> Any:
        return self.runtime.call(work)

    def _notebook(self) -> NotebookContext:
        return self._context()

    def _current(self, notebook: NotebookContext, statuses: str = "active,paused") -> SessionSummary | None:
        """This notebook's most recent session in one of ``statuses``.

        Without a known notebook there is no listing to ask (it would find other notebooks'
        sessions), so the magic remembers the session it used last in this kernel.
        """
        found: SessionSummary | None = self._call(lambda s: self._find_current(s, notebook, statuses))
        return found

    def _find_current(
        self, service: TutorService, notebook: NotebookContext, statuses: str
    ) -> SessionSummary | None:
        wanted = set(statuses.split(","))
        if not notebook.notebook_path:
            if self._session_id is None:
                return None
            try:
                known = service.get_session(self.owner, self._session_id)
            except TutorNBError:
                return None
            return known if known.status.value in wanted else None
        return service.current_session(self.owner, notebook.notebook_path, statuses)

    def _where(self, notebook: NotebookContext) -> str:
        return notebook.notebook_path or "this notebook"

    @staticmethod
    def _no_args(args: list[str], command: str) -> None:
        if args:
            raise UsageError(f"%tutor {command} takes no arguments")

    def _display(self, obj: object) -> None:
        from IPython.display import display

        show: Callable[[object], object] = display
        show(obj)

    # -- commands
    # ---------------------------------------------------------------------------------------

    def open(self, args: list[str]) -> None:
        from tutornb.widget import panel_for

        notebook = self._notebook()
        self.last_panel = panel_for(notebook, runtime=self.runtime)
        self._display(self.last_panel)

    def resume(self, args: list[str]) -> None:
        if len(args) > 1:
            raise UsageError("%tutor resume takes at most one session id")
        from tutornb.widget import panel_for

        notebook = self._notebook()
        if args:
            if not is_valid_session_id(args[0]):
                raise UsageError(f"{args[0]!r} is not a session id")
            session: SessionSummary = self._call(lambda s: s.get_session(self.owner, args[0]))
            if session.status is Status.CLOSED:
                self._fail(f"session {session.id} is closed; %tutor history lists the others.")
                return
        else:
            found = self._current(notebook)
            if found is None:
                print(f"No session to resume for {self._where(notebook)}: run %tutor to start one.")
                return
            session = found
        if not notebook.notebook_path:
            self._session_id = session.id
        self.last_panel = panel_for(notebook, session_id=session.id, auto_resume=True, runtime=self.runtime)
        self._display(self.last_panel)

    def history(self, args: list[str]) -> None:
        opts = _history_parser().parse_args(args)
        params: dict[str, str] = {"limit": str(opts.limit)}
        if opts.query:
            params["q"] = " ".join(opts.query)
        for key, value in (
            ("course_id", opts.course),
            ("module_id", opts.module),
            ("status", opts.status),
        ):
            if value:
                params[key] = value
        try:
            queryparams.session_query(params)  # the listing's own parser: one rule for --status/--limit
        except InvalidRequest as exc:
            raise UsageError(exc.message) from None
        page = self._call(lambda s: s.list_sessions(self.owner, params))
        if not page.sessions:
            print("No sessions match.")
            return
        print(history_table(page.sessions))
        if page.total > len(page.sessions):
            print(f"({len(page.sessions)} of {page.total}; use --limit to see more)")

    def ask(self, args: list[str]) -> None:
        choice: bool | None = None
        while args and args[0] in ("--work", "--no-work"):
            choice = args.pop(0) == "--work"
        text = " ".join(args).strip()
        if not text:
            raise UsageError("%tutor ask needs a question")
        last = work_tracker(self.shell).last
        if choice is True and last is None:
            raise UsageError("--work: no cell has run in this kernel yet")
        work = last if wants_work(text, last, choice) else None
        notebook = self._notebook()
        route = server_route()
        if route is not None:  # the server's tutor and policy, never this kernel's environment
            session_id, reply = ask_server(route, notebook.course, self._session_id, text, work)
            if not notebook.notebook_path:
                self._session_id = session_id
            self._show_reply(reply, work, None)
            return

        async def turn(service: TutorService) -> NotebookAnswer:
            return await service.ask_in_notebook(
                self.owner, notebook.course, text, work, session_id=self._session_id
            )

        answer: NotebookAnswer = self._call(turn)
        if not notebook.notebook_path:
            self._session_id = answer.session_id
        self._show_reply(answer.reply, work, answer.kept_paused)

    def _show_reply(self, message: Message, work: LearnerWork | None, paused: SessionSummary | None) -> None:
        """Rendered Markdown where the front end renders it; the plain text for nbval and terminals;
        ``paused``: the notebook's paused session a new one was started beside (said, never reopened)."""
        plain = message_text(message)
        markdown = message_markdown(message, work)
        if work is not None:
            plain += "\n" + work_note(work)
        if paused is not None:
            note = f"(A new session: paused {paused.id} is kept; %tutor resume {paused.id} goes back to it.)"
            plain += "\n" + note
            markdown += "\n\n*" + note + "*"
        bundle = {"text/markdown": markdown, "text/plain": plain}
        from IPython.display import display

        show: Callable[..., object] = display
        show(bundle, raw=True)

    def _change(self, args: list[str], action: Literal["pause", "close"], statuses: str, verb: str) -> None:
        self._no_args(args, action)
        notebook = self._notebook()
        found = self._current(notebook, statuses)
        if found is None:
            kind = "active" if statuses == "active" else "open"
            print(f"No {kind} session for {self._where(notebook)}.")
            return
        session = self._call(lambda s: s.change_status(self.owner, found.id, action))
        print(f"{verb} session {session.id} ({session.title or 'untitled'}).")

    def pause(self, args: list[str]) -> None:
        self._change(args, "pause", "active", "Paused")

    def close(self, args: list[str]) -> None:
        self._change(args, "close", "active,paused", "Closed")

    def export(self, args: list[str]) -> None:
        opts = _export_parser().parse_args(args)
        notebook = self._notebook()
        found = self._current(notebook) or self._current(notebook, "closed")
        if found is None:
            print(f"No session to export for {self._where(notebook)}.")
            return
        exported = self._call(lambda s: s.export_session(self.owner, found.id, opts.format))
        target = Path(opts.path) if opts.path else Path(exported.filename)
        if target.is_dir():
            target = target / exported.filename
        try:
            target.write_bytes(exported.body)
        except OSError as exc:
            self._fail(f"could not write {target}: {exc.strerror or type(exc).__name__}.")
            return
        print(f"Exported session {found.id} ({opts.format}) to {target}.")

    def status(self, args: list[str]) -> None:
        self._no_args(args, "status")
        notebook = self._notebook()
        info = self._call(lambda s: s.status())
        store = info.get("store", {})
        tutor = info.get("tutor", {})
        course = notebook.course
        where = " \u203a ".join(
            x
            for x in (
                course.course_title or course.course_id,
                course.module_title or course.module_id,
            )
            if x
        )
        current = self._current(notebook)
        lines = [
            f"tutornb {info.get('version', '?')}",
            f"notebook: {notebook.notebook_path or '(unknown)'}" + (f" — {where}" if where else ""),
            f"store: {store.get('path', '?')} — {store.get('sessions', 0)} sessions, "
            f"{store.get('messages', 0)} messages, {store.get('bytes', 0)} bytes",
            f"tutor: {tutor.get('name', '?')}" + (f" ({tutor['model']})" if tutor.get("model") else ""),
            "session: "
            + (
                f"{current.id} ({current.status.value}, {current.phase.value}, "
                f"{current.message_count} messages)"
                if current
                else "none"
            ),
        ]
        if notebook.note:
            lines.append(f"note: {notebook.note}")
        print("\n".join(lines))

    def share(self, args: list[str]) -> None:
        """Preview this learner's progress report; ``--confirm`` drops it in the exchange folder."""
        from tutornb.instructor.reports.sharing import ShareFlow

        if self._share is None:
            self._share = ShareFlow(self.owner)
        self._share(args, self._call, self._notebook().course.course_id)

    def receipt(self, args: list[str]) -> None:
        """Show this notebook's AI-use receipt; ``--confirm`` adds it to the notebook's metadata."""
        from tutornb.kernel.receipt import ReceiptFlow

        if self._receipt is None:
            self._receipt = ReceiptFlow(self.owner)
        notebook = self._notebook()
        self._receipt(args, self._call, notebook.notebook_file, notebook.notebook_path)


_TUTOR_QUESTION = re.compile(r"^(\s*)%tutor\s+(\S.*\?)\s*$")


def keep_question_marks(lines: list[str]) -> list[str]:
    """An input transformer: ``%tutor ask why does it fail?`` reaches the magic whole.

    IPython reads a line ending in ``?`` as a help request, so the question would show the help of
    its last word instead. Learners end questions with ``?``; for ``%tutor`` lines the call is
    written out before IPython's help syntax can see the mark.
    """
    out = []
    for line in lines:
        match = _TUTOR_QUESTION.match(line)
        if match:
            newline = "\n" if line.endswith("\n") else ""
            line = (
                f"{match.group(1)}get_ipython().run_line_magic('tutor', {match.group(2).strip()!r}){newline}"
            )
        out.append(line)
    return out


def register(ipython: InteractiveShell) -> TutorMagic:
    """Registers ``%tutor`` on ``ipython`` (what ``%load_ext tutornb`` calls)."""
    magic = TutorMagic(ipython)
    work_tracker(ipython)  # from now on the learner's runs are known to the panel and `ask`
    shell: Any = ipython  # IPython's decorated signature confuses type checkers
    cleanup: list[Callable[[list[str]], list[str]]] = shell.input_transformers_cleanup
    if keep_question_marks not in cleanup:
        cleanup.append(keep_question_marks)
    shell.register_magic_function(magic, magic_kind="line", magic_name="tutor")
    return magic
