"""Hostile inputs, generated from families: XSS payloads for the renderers and malformed frames for
the chat socket (shared by the hostile tests and ``bench/hostile.py``).

Every XSS payload carries a canary: if any of its script runs, it records its own number in
``top.__xss`` (a list the test page defines). The canary is spelled in several encodings (plain,
HTML entities, base64 + eval, JS escapes) so that a renderer decoding one layer too many is caught.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from tutornb.models import CLIENT_FRAME


@dataclass(frozen=True)
class Payload:
    number: int
    family: str
    text: str


def canary(number: int) -> str:
    return f"top.__xss.push({number})"


def _entities(js: str, hexa: bool = False) -> str:
    return "".join(f"&#x{ord(c):x};" if hexa else f"&#{ord(c)};" for c in js)


def _b64(js: str) -> str:
    return f"eval(atob('{base64.b64encode(js.encode()).decode()}'))"


def _js_escaped(js: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in js)


#: How the canary is written inside an attribute or a URL.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda js: js,
    "entities": _entities,
    "hex-entities": lambda js: _entities(js, hexa=True),
    "base64": _b64,
    "js-escapes": _js_escaped,
}

_SCRIPT_TAGS = [
    "<script>{J}</script>",
    "<SCRIPT>{J}</SCRIPT>",
    "<script type=module>{J}</script>",
    "<script/x>{J}</script>",
    "<scr<script>ipt>{J}</scr</script>ipt>",
    '"><script>{J}</script>',
    "</textarea><script>{J}</script>",
    "</title><script>{J}</script>",
    '<script src="data:text/javascript,{J}"></script>',
    "<script>/*</script><script>*/{J}</script>",
]
_HANDLER_TAGS = [
    '<img src=x onerror="{J}">',
    '<IMG SRC=x OnErRoR="{J}">',
    '<img/src=x/onerror="{J}">',
    '<img src=x onerror="{J}"//',
    '<svg onload="{J}">',
    '<svg><animate onbegin="{J}" attributeName=x dur=1s>',
    '<body onload="{J}">',
    '<details open ontoggle="{J}">',
    '<input autofocus onfocus="{J}">',
    '<select autofocus onfocus="{J}"></select>',
    '<textarea autofocus onfocus="{J}"></textarea>',
    '<video src=x onerror="{J}"></video>',
    '<audio src=x onerror="{J}"></audio>',
    '<iframe onload="{J}"></iframe>',
    '<object data=x onerror="{J}"></object>',
    '<marquee onstart="{J}">m</marquee>',
    '<style>@keyframes k{{}}</style><div style="animation-name:k" onanimationstart="{J}">',
    '<link rel=stylesheet href=x onerror="{J}">',
    '<div onpointerover="{J}" onmouseover="{J}">hover</div>',
    '<a onclick="{J}">click</a>',
    '<button onclick="{J}">b</button>',
    '<p onfocus="{J}" tabindex=1 autofocus>p</p>',
]
_URL_TAGS = [
    '<a href="javascript:{J}">x</a>',
    '<a href=" JaVaScRiPt:{J}">x</a>',
    '<a href="java&#x09;script:{J}">x</a>',
    '<a href="&#106;avascript:{J}">x</a>',
    '<a href="javascript&colon;{J}">x</a>',
    '<a href="&#x01;javascript:{J}">x</a>',
    '<a href="vbscript:{J}">x</a>',
    '<a href="data:text/html,<script>{J}</script>">x</a>',
    '<iframe src="javascript:{J}"></iframe>',
    '<form action="javascript:{J}"><button>go</button></form>',
    '<button formaction="javascript:{J}">go</button>',
    '<math><a href="javascript:{J}">x</a></math>',
    '<svg><a xlink:href="javascript:{J}"><text y=9>x</text></a></svg>',
    '<object data="javascript:{J}"></object>',
    '<embed src="javascript:{J}">',
    '<base href="javascript:{J}//">',
    '<img src="javascript:{J}">',
    '<area href="javascript:{J}">',
]
_SVG = [
    "<svg><script>{J}</script></svg>",
    '<svg><foreignObject><img src=x onerror="{J}"></foreignObject></svg>',
    '<svg><set attributeName=onmouseover to="{J}"/></svg>',
    '<svg><image href=x onerror="{J}"/></svg>',
    '<svg><style><img src=x onerror="{J}"></style></svg>',
]
_FORMS_AND_CLOBBERING = [
    '<form id="jupyter-config-data">{{"baseUrl": "http://evil.example/"}}</form>',
    '<div id="jupyter-config-data">{{"baseUrl": "http://evil.example/"}}</div>',
    '<img id="__xss" name="__xss">',
    '<a id="x" name="x" href="javascript:{J}">clobber</a>',
    '<form name="body"><input name="attributes"></form>',
    '<img name="getElementById"><img name="cookie">',
    '<form id="f"><input name="action" value="javascript:{J}"></form>',
    '<input type="image" src=x onerror="{J}">',
    '<isindex action="javascript:{J}" type=submit>',
    '<form><button form=f formaction="javascript:{J}">x</button></form>',
]
_COMMANDLINKER = [
    '<button data-commandlinker-command="notebook:run-all-cells">run all</button>',
    '<a data-commandlinker-command="terminal:create-new" data-commandlinker-args="{{}}">t</a>',
    '<div data-commandlinker-command="filebrowser:delete">delete</div>',
    '<span data-commandlinker-command="kernelmenu:restart-and-clear">r</span>',
    '<p data-jp-command="notebook:run-all-cells" data-commandlinker-args=\'{{"x":1}}\'>p</p>',
]
_FRAMES = [
    '<iframe srcdoc="<script>{J}</script>"></iframe>',
    '<iframe srcdoc="&lt;img src=x onerror={J}&gt;"></iframe>',
    '<iframe src="data:text/html,<script>{J}</script>"></iframe>',
    '<frameset onload="{J}"><frame src=x></frameset>',
    '<object data="data:text/html,<script>{J}</script>"></object>',
    "<embed src=\"data:image/svg+xml,<svg onload='{J}'/>\">",
]
_META = [
    '<meta http-equiv="refresh" content="0;url=javascript:{J}">',
    '<meta http-equiv="refresh" content="0; url=data:text/html,<script>{J}</script>">',
    '<meta charset="UTF-7">+ADw-script+AD4-{J}+ADw-/script+AD4-',
    '<meta http-equiv="set-cookie" content="pwned=1">',
]
_STYLE = [
    "<style>@import 'javascript:{J}';</style>",
    '<div style="background:url(javascript:{J})">bg</div>',
    '<div style="width:expression({J})">ie</div>',
    '<p style="behavior:url(x.htc)">b</p>',
    '<link rel=stylesheet href="javascript:{J}">',
    "<style>*{{background:url(x)}}</style>",
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</div>',
]
_MARKDOWN = [
    "[click](javascript:{J})",
    "[click](JAVASCRIPT:{J})",
    "[click](javascript&#58;{J})",
    "[click](<javascript:{J}>)",
    "[click](&#x6A;avascript:{J})",
    "[click][r]\n\n[r]: javascript:{J}",
    "![img](javascript:{J})",
    '![img](x" onerror="{J})',
    '[a](http://x.example "\\" onmouseover=\\"{J}")',
    "[![img](x)](javascript:{J})",
    "<javascript:{J}>",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![a](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '```js" onmouseover="{J}\ncode\n```',
    '```html\n<img src=x onerror="{J}">\n```',
    '`<img src=x onerror="{J}">`',
    '<div>\n<img src=x onerror="{J}">\n</div>',
    '**<img src=x onerror="{J}">**',
    '| a |\n|---|\n| <img src=x onerror="{J}"> |',
    '> <svg onload="{J}">',
    '- <a href="javascript:{J}">li</a>',
    '<http://x.example" onmouseover="{J}>',
    '[a](http://x.example/"><img src=x onerror="{J}">)',
]
_PARSER_CONFUSION = [
    "<noscript><p title=\"</noscript><img src=x onerror='{J}'>\">",
    '<math><mtext><table><mglyph><style><img src=x onerror="{J}">',
    "<svg></p><style><a id=\"</style><img src=x onerror='{J}'>\">",
    "<listing>&lt;img src=x onerror={J}&gt;</listing>",
    '<xmp><img src=x onerror="{J}"></xmp>',
    '<template><img src=x onerror="{J}"></template>',
    '<title><img src=x onerror="{J}"></title>',
    '<textarea><img src=x onerror="{J}"></textarea>',
    '<!--><img src=x onerror="{J}">-->',
    '<![CDATA[><img src=x onerror="{J}">]]>',
    '<?xml ?><img src=x onerror="{J}">',
    '<img src=x onerror="{J}"\x00>',
    '<img src=x onerror\x0c="{J}">',
    '<img src=x\u3000onerror="{J}">',
    '<<img src=x onerror="{J}">>',
]

#: family -> templates; ``{J}`` is the canary (its braces in templates are doubled).
FAMILIES: dict[str, list[str]] = {
    "script": _SCRIPT_TAGS,
    "event-handler": _HANDLER_TAGS,
    "url-scheme": _URL_TAGS,
    "svg": _SVG,
    "form-clobbering": _FORMS_AND_CLOBBERING,
    "commandlinker": _COMMANDLINKER,
    "frame": _FRAMES,
    "meta": _META,
    "style": _STYLE,
    "markdown": _MARKDOWN,
    "parser-confusion": _PARSER_CONFUSION,
}
#: Markdown contexts a payload is also embedded in (paragraph, emphasis, list, quote, table, link).
CONTEXTS: list[str] = [
    "Hello **tutor**: {P}",
    "- item\n- {P}",
    "> {P}",
    "| q | a |\n|---|---|\n| x | {P} |",
]


def xss_payloads(contexts: int = 1) -> list[Payload]:
    """Every template in its first encoding, handler and URL templates in every encoding, and the
    first ``contexts`` markdown contexts around each handler/URL/script template."""
    out: list[Payload] = []

    def add(family: str, template: str, encode: Callable[[str], str], wrap: str = "{P}") -> None:
        number = len(out)
        text = template.replace("{J}", encode(canary(number)))
        text = text.replace("{{", "{").replace("}}", "}")
        out.append(Payload(number, family, wrap.replace("{P}", text)))

    for family, templates in FAMILIES.items():
        for template in templates:
            add(family, template, ENCODINGS["plain"])
    for family in ("event-handler", "url-scheme"):
        for template in FAMILIES[family]:
            for name, encode in ENCODINGS.items():
                if name != "plain":
                    add(f"{family}:{name}", template, encode)
    for wrap in CONTEXTS[:contexts]:
        for family in ("script", "event-handler", "url-scheme", "svg"):
            for template in FAMILIES[family]:
                add(f"{family}:in-markdown", template, ENCODINGS["plain"], wrap)
    return out


# --------------------------------------------------------------------------------------------------
# Malformed chat frames


#: Malformed frames stay under the 64 KiB frame limit (oversize frames are tested on their own).
MAX_SMALL_FRAME = 60_000


@dataclass(frozen=True)
class Frame:
    kind: str
    data: str | bytes
    #: True for a text frame whose bytes are not UTF-8 (the socket itself must reject it).
    invalid_text: bool = False


#: The service's default ``max_message_chars``.
MAX_MESSAGE_CHARS = 16_000


def is_valid_client_frame(data: str | bytes) -> bool:
    """Whether the service would accept this frame (the generator must only produce refusals):
    the frame model, plus the service's own rules on message text (not blank, not too long)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        frame = json.loads(text)
        parsed = CLIENT_FRAME.validate_python(frame)
    except (UnicodeDecodeError, ValueError, RecursionError, ValidationError, TypeError):
        return False
    message = getattr(parsed, "text", None)
    if isinstance(message, str):
        return bool(message.strip()) and len(message) <= MAX_MESSAGE_CHARS
    return True


_WRONG_VALUES: list[object] = [
    None, True, False, 0, -1, 1.5, 2**70, "", " ", [], {}, [1], {"a": 1}, "\x00", "😀" * 3,
    float("1e308"),
]  # fmt: skip
_BAD_TYPES = [
    "hello", "MESSAGE", "message ", " message", "__proto__", "constructor", "ack", "session",
    "delta", "error", "state", "Pause", "RESUME", "close\x00", "", "message\n",
]  # fmt: skip
_VALID = {
    "message": {"type": "message", "client_id": "c-1", "text": "hi"},
    "answer": {"type": "answer", "question_id": "q1", "choice": 0, "client_id": "c-2"},
}


def _frame_families(rng: random.Random) -> Iterator[tuple[str, Callable[[], str | bytes]]]:
    def wrong_field() -> str:
        kind = rng.choice(list(_VALID))
        frame = dict(_VALID[kind])
        field = rng.choice(list(frame))
        frame[field] = rng.choice(_WRONG_VALUES)
        return json.dumps(frame)

    def missing_field() -> str:
        frame = dict(_VALID[rng.choice(list(_VALID))])
        del frame[rng.choice([k for k in frame if k != "client_id" or "text" in frame])]
        return json.dumps(frame)

    def extra_field() -> str:
        frame = dict(rng.choice([*_VALID.values(), {"type": "pause"}, {"type": "resume"}]))
        frame[rng.choice(["x", "__proto__", "owner", "session_id", "seq", "role"])] = "evil"
        return json.dumps(frame)

    def truncated() -> str:
        text = json.dumps(rng.choice([*_VALID.values(), {"type": "close"}]))
        return text[: rng.randrange(0, len(text) - 1)]

    def deep() -> str:
        # Deep enough to exhaust a recursive parser, small enough for one 64 KiB frame.
        if rng.random() < 0.5:
            depth = rng.choice([64, 500, 2000, 10_000, 30_000])
            return "[" * depth + "]" * depth
        depth = rng.choice([64, 500, 2000, 10_000])
        return '{"a":' * depth + "1" + "}" * depth

    def not_an_object() -> str:
        return rng.choice(
            ["1", '"message"', "[]", "null", "true", "NaN", "Infinity", "-Infinity", "1e999999",
             '[{"type":"message","client_id":"a","text":"b"}]', "0x10", "{}", '""', " "]
        )  # fmt: skip

    def not_json() -> str:
        return rng.choice(
            ["", "{", "}", "{'type': 'message'}", "type=message", "<xml/>", "\x00", "{\"type\":",
             "{\"type\": message}", "//", "\ufeff{}", "{\"type\":\"message\",}", "\\u0000"]
        )  # fmt: skip

    def bad_type() -> str:
        return json.dumps({"type": rng.choice(_BAD_TYPES), "client_id": "c", "text": "t"})

    def huge() -> str:
        size = rng.choice([16_001, 30_000, 60_000])
        field = rng.choice(["text", "client_id", "question_id", "junk"])
        frame: dict[str, object] = {"type": "message", "client_id": "c-3", "text": "t"}
        frame[field] = "x" * size
        return json.dumps(frame)

    def bad_client_id() -> str:
        client_id = rng.choice(["", "a" * 81, "a b", "../x", "<script>", "a\nb", "é", "a/b", "a\\b", "\x00"])
        return json.dumps({"type": "message", "client_id": client_id, "text": "hello"})

    def bad_answer() -> str:
        choice = rng.choice([-1, 101, 10**9, "0", None, 0.5, True])
        question = rng.choice(["", "q" * 201, 5, None])
        frame = {"type": "answer", "question_id": "q1", "choice": choice}
        if rng.random() < 0.5:
            frame["question_id"] = question
        return json.dumps(frame)

    def empty_text() -> str:
        return json.dumps({"type": "message", "client_id": "c-4", "text": rng.choice(["", "  "])})

    def binary_garbage() -> bytes:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))

    def binary_invalid_utf8() -> bytes:
        return rng.choice([b"\xff\xfe", b"\xc0\xaf", b'{"type":"\xff"}', b"\xed\xa0\x80"])

    yield from [
        ("wrong-type-field", wrong_field),
        ("missing-field", missing_field),
        ("extra-field", extra_field),
        ("truncated-json", truncated),
        ("deep-nesting", deep),
        ("not-an-object", not_an_object),
        ("not-json", not_json),
        ("unknown-type", bad_type),
        ("huge-string", huge),
        ("bad-client-id", bad_client_id),
        ("bad-answer", bad_answer),
        ("empty-text", empty_text),
        ("binary-garbage", binary_garbage),
        ("binary-invalid-utf8", binary_invalid_utf8),
    ]


def malformed_frames(count: int, seed: int = 7) -> list[Frame]:
    """``count`` frames the service must refuse, cycling through every family."""
    rng = random.Random(seed)
    families = list(_frame_families(rng))
    out: list[Frame] = []
    index = 0
    while len(out) < count:
        kind, make = families[index % len(families)]
        index += 1
        data = make()
        if len(data) > MAX_SMALL_FRAME or is_valid_client_frame(data):
            continue
        out.append(Frame(kind, data))
    return out


#: Text frames whose bytes are not UTF-8: the WebSocket layer itself must refuse them.
INVALID_UTF8_TEXT = [b"\xff\xfe\xfd", b'{"type":"message","text":"\xc3\x28"}', b"\xed\xa0\x80"]
