"""Session export (JSON, Markdown, .ipynb) and import (the JSON export).

File names are chosen here from the title and the session id, reduced to safe characters, never
taken from
a request. The JSON export is the import format: exporting then importing gives the same transcript.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from tutornb.citations import cell_label, format_citation
from tutornb.citepath import invalid_citations
from tutornb.errors import InvalidRequest
from tutornb.frames import validation_errors
from tutornb.models import ActionLogEntry, LearnerWork, Message, Role, SessionExport
from tutornb.render import render_markdown as render_message_html
from tutornb.version import __version__

FORMATS = ("json", "markdown", "ipynb")
_EXTENSIONS = {"json": "json", "markdown": "md", "ipynb": "ipynb"}
_MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "ipynb": "application/x-ipynb+json",
}
_ROLE_NAMES = {Role.LEARNER: "Learner", Role.TUTOR: "Tutor", Role.SYSTEM: "System"}
_MAX_IMPORT_DEPTH = 64
_INTERRUPTION_MARKS = {
    "cut_off": "*(cut off: the answer broke off mid-way)*",
    "stopped": "*(stopped by the learner)*",
}


def _slug(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    return slug[:limit].strip("-")


def export_filename(document: SessionExport, fmt: str) -> str:
    """``tutornb-<title or module>-<id>.<ext>``: only ``[A-Za-z0-9._-]``, always starting with a
    letter."""
    session = document.session
    label = _slug(session.title) or _slug(session.context.module_id or "") or "session"
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "", session.id)[:64] or "session"
    return f"tutornb-{label}-{safe_id}.{_EXTENSIONS[fmt]}"


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


#: Characters that would start emphasis, code, a link, raw HTML or a table cell in running text.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>!|~{}])")
_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def _inline(text: str) -> str:
    """``text`` (a title, a course or module name) as literal Markdown text on one line: a newline
    in a title can no longer start a heading, ``<img …>`` no longer becomes HTML, ``[x](…)`` no
    longer a link."""
    flat = " ".join(text.split())
    return _ENTITY_LIKE.sub("&amp;", _INLINE_SPECIAL.sub(r"\\\1", flat))


def _code_span(text: str) -> str:
    """``text`` (a path) as one code span its backticks cannot close early."""
    flat = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def _citation_lines(message: Message) -> list[str]:
    # As every view prints them (the path passed tutornb.citepath's rule; the heading is the course's).
    return [f"- {format_citation(citation)}" for citation in message.citations]


def _fenced(text: str, language: str) -> list[str]:
    """A fenced block that the text cannot close early (the fence outgrows any backtick run in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text.rstrip("\n"), fence]


def _work_lines(work: LearnerWork) -> list[str]:
    """The learner's attached run: their code as a fenced block, then the error it raised."""
    where = f" ({cell_label(work.cell_index)})" if work.cell_index is not None else ""
    lines = [f"**Attached work**{where}:", "", *_fenced(work.code, "python")]
    if work.error:
        lines += ["", "**Error:**", "", *_fenced(work.error, "text")]
    return lines


def _context_lines(document: SessionExport) -> list[str]:
    session = document.session
    context = session.context
    lines = []
    if context.course_title or context.course_id:
        lines.append(f"- **Course:** {_inline(context.course_title or context.course_id or '')}")
    if context.module_title or context.module_id:
        lines.append(f"- **Module:** {_inline(context.module_title or context.module_id or '')}")
    if context.notebook_path:
        lines.append(f"- **Notebook:** {_code_span(context.notebook_path)}")
    lines.append(f"- **Status:** {session.status.value} · **phase:** {session.phase.value}")
    lines.append(
        f"- **Started:** {_when(session.created_at)} · **last active:** {_when(session.last_active_at)}"
    )
    lines.append(f"- **Messages:** {len(document.messages)}")
    if session.state.summary:
        lines.append(f"- **Summary:** {session.state.summary}")
    return lines


def _message_markdown(message: Message, level: str = "###") -> str:
    parts = [f"{level} {_ROLE_NAMES[message.role]} · {_when(message.created_at)}", "", message.text]
    if message.work is not None:
        parts += ["", *_work_lines(message.work)]
    if message.interrupted is not None:
        parts += ["", _INTERRUPTION_MARKS[message.interrupted]]
    if message.quiz is not None:
        parts += [
            "",
            f"**Question {message.quiz.number}/{message.quiz.total}:** {message.quiz.question}",
        ]
        parts += [f"{i + 1}. {choice}" for i, choice in enumerate(message.quiz.choices)]
    citations = _citation_lines(message)
    if citations:
        parts += ["", "Sources:", *citations]
    return "\n".join(parts)


def render_markdown(document: SessionExport) -> str:
    title = _inline(document.session.title) or "Tutoring session"
    blocks = [f"# {title}", "\n".join(_context_lines(document)), "---"]
    blocks += [_message_markdown(message) for message in document.messages]
    blocks.append(f"*Exported by tutornb {__version__} on {_when(document.exported_at)}.*")
    return "\n\n".join(blocks) + "\n"


def render_ipynb(document: SessionExport) -> str:
    import nbformat
    from nbformat import v4

    session = document.session
    context = session.context
    notebook = v4.new_notebook()  # type: ignore[no-untyped-call]
    header = "\n".join([f"# {_inline(session.title) or 'Tutoring session'}", "", *_context_lines(document)])
    notebook.cells.append(v4.new_markdown_cell(header))  # type: ignore[no-untyped-call]
    for message in document.messages:
        cell = v4.new_markdown_cell(_message_markdown(message, level="####"))  # type: ignore[no-untyped-call]
        cell.metadata["tutornb"] = {"role": message.role.value, "seq": message.seq}
        if message.work is not None:
            cell.metadata["tutornb"]["work"] = message.work.model_dump(mode="json", exclude_none=True)
        notebook.cells.append(cell)
    meta: dict[str, Any] = context.model_dump(mode="json", exclude_none=True)
    meta["export"] = {
        "session_id": session.id,
        "title": session.title,
        "status": session.status.value,
        "phase": session.phase.value,
        "message_count": len(document.messages),
        "exported_at": document.exported_at.astimezone(timezone.utc).isoformat(),
        "tutornb_version": __version__,
    }
    notebook.metadata["tutornb"] = meta
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return str(nbformat.writes(notebook, version=4))  # type: ignore[no-untyped-call]


def render_export(document: SessionExport, fmt: str) -> tuple[str, str, bytes]:
    """(file name, media type, body) for one of ``json``, ``markdown``, ``ipynb``."""
    if fmt not in FORMATS:
        raise InvalidRequest(
            "format must be json, markdown or ipynb.",
            errors=[{"loc": ["format"], "msg": "unknown export format"}],
        )
    if fmt == "json":
        text = json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=1)
    elif fmt == "markdown":
        text = render_markdown(document)
    else:
        text = render_ipynb(document)
    body = text.encode("utf-8", "surrogatepass")
    return export_filename(document, fmt), _MEDIA_TYPES[fmt], body


def _depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests (stops counting past ``limit``); -1 when it holds a non-finite
    number. NaN and Infinity are not JSON: a frame carrying one breaks the page's ``JSON.parse``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            return -1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _rendered_by_us(document: SessionExport) -> SessionExport:
    """Every message's ``html`` rendered again from its ``text``: an imported ``html`` is whatever
    the file's author wrote (relative URLs to ``/logout``, JupyterLab's own classes), never what
    our sanitizer produced. Every message is marked ``imported``: whatever role the file gives it,
    this tutor did not say it to this learner."""
    messages = [
        m.model_copy(update={"html": render_message_html(m.text), "imported": True})
        for m in document.messages
    ]
    return document.model_copy(update={"messages": messages})


def parse_import(body: bytes | str | Mapping[str, Any]) -> SessionExport:
    """Validates a JSON export; anything else is an ``InvalidRequest`` carrying ``errors``."""
    not_export = "This is not a tutornb session export."
    if isinstance(body, Mapping):
        data: Any = dict(body)
    else:
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            data = json.loads(text, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidRequest(
                not_export,
                errors=[{"loc": ["body"], "msg": "not valid UTF-8 JSON (NaN and Infinity are not JSON)"}],
            ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(not_export, errors=[{"loc": ["body"], "msg": "expected a JSON object"}])
    depth = _depth(data, _MAX_IMPORT_DEPTH)
    if depth < 0:
        raise InvalidRequest(not_export, errors=[{"loc": ["body"], "msg": "NaN and Infinity are not JSON"}])
    if depth > _MAX_IMPORT_DEPTH:
        raise InvalidRequest(not_export, errors=[{"loc": ["body"], "msg": "nested too deeply"}])
    if data.get("format", "tutornb.session") != "tutornb.session":
        raise InvalidRequest(not_export, errors=[{"loc": ["format"], "msg": "not tutornb.session"}])
    try:
        document = SessionExport.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(not_export, errors=validation_errors(exc)) from None
    except (ValueError, TypeError, RecursionError, OverflowError):
        raise InvalidRequest(not_export, errors=[{"loc": ["body"], "msg": "invalid"}]) from None
    if _depth(document.model_dump(), _MAX_IMPORT_DEPTH * 2) < 0:
        # A number field given as the string "NaN" or "inf", which lax validation accepts.
        raise InvalidRequest(not_export, errors=[{"loc": ["body"], "msg": "NaN and Infinity are not JSON"}])
    dropped = invalid_citations(data.get("messages"))
    if dropped:  # the model dropped them; the session's own log says how many, for whoever looks
        entry = ActionLogEntry(action="import_dropped_citations", data={"count": dropped})
        document = document.model_copy(update={"actions": [*document.actions, entry]})
    return _rendered_by_us(document)
