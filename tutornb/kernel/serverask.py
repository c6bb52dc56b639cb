"""``%tutor ask`` through the Jupyter server that started this kernel, when there is one.

The server keeps the model's API key and the tutoring policy out of its kernels (a kernel's
environment is the learner's, readable and writable by any cell). It gives each kernel its
loopback URL and a token that lets it ask the server's tutor, as the server's learner, for the
notebook it names: the reply comes from the server's tutor under the server's policy, whatever the
learner set in this kernel. Without those two variables (no tutornb server, e.g. a plain
``ipython``) there is no route and ``%tutor ask`` tutors in the kernel, as its learner configured.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from tutornb.errors import TutorNBError
from tutornb.models import CourseContext, LearnerWork, Message
from tutornb.paths import KERNEL_TOKEN_ENV, KERNEL_TOKEN_HEADER, SERVER_URL_ENV

KERNEL_ASK_PATH = "tutornb/api/kernel/ask"
_LOOPBACK = ("http://127.0.0.1:", "https://127.0.0.1:", "http://[::1]:", "https://[::1]:")
#: A model-backed turn may take a while; the server bounds it with its own turn timeout.
ASK_TIMEOUT_SECONDS = 300.0


class ServerAskError(TutorNBError):
    """The server refused or failed the question (its one-line message), or could not be reached."""


def server_route() -> tuple[str, str] | None:
    """The server's URL and this kernel's token, when this kernel was started by a tutornb server."""
    url, token = os.environ.get(SERVER_URL_ENV, ""), os.environ.get(KERNEL_TOKEN_ENV, "")
    if not url or not token or not url.startswith(_LOOPBACK):
        return None  # only loopback: the token never leaves this machine
    return (url if url.endswith("/") else url + "/"), token


def ask_server(
    route: tuple[str, str],
    context: CourseContext,
    session_id: str | None,
    text: str,
    work: LearnerWork | None,
) -> tuple[str, Message]:
    """The session the question went to and the tutor's stored reply."""
    url, token = route
    body = {"context": context.model_dump(mode="json"), "session_id": session_id, "text": text}
    if work is not None:
        body["work"] = work.model_dump(mode="json")
    request = urllib.request.Request(  # noqa: S310 - loopback http(s) only, checked in server_route
        url + KERNEL_ASK_PATH,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", KERNEL_TOKEN_HEADER: token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=ASK_TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise ServerAskError(_server_message(exc)) from None
    except (OSError, ValueError) as exc:
        raise ServerAskError(
            f"the Jupyter server did not answer ({type(exc).__name__}); try again in a moment."
        ) from None
    return str(answer["session_id"]), Message.model_validate(answer["message"])


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(exc.read()).get("message")
    except (OSError, ValueError, AttributeError):
        message = None
    if exc.code == 403:
        return "the Jupyter server refused this kernel's question (restart the kernel)."
    return (
        str(message) if isinstance(message, str) and message else f"the Jupyter server answered {exc.code}."
    )
