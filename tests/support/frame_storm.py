"""Malformed frames, invalid UTF-8 text frames and oversize frames against a live server's chat
socket (shared by ``test_hostile.py`` and ``bench/hostile.py``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websocket
from websocket import ABNF

from tests.support.chat_client import open_socket, read_until
from tests.support.hostile_payloads import INVALID_UTF8_TEXT, Frame
from tests.support.live_server import LiveServer

#: Frames in flight before the client reads their answers.
BATCH = 100
#: Sizes announced by oversize frames: just over the limit, 1 MiB, and absurd.
OVERSIZE = (64 * 1024 + 1, 1 << 20, 1 << 40)


@dataclass
class StormReport:
    sent: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    other_frames: list[dict[str, Any]] = field(default_factory=list)
    invalid_utf8_closed: int = 0
    invalid_utf8_sent: int = 0
    oversize_close_codes: list[int] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(self.answers.values())


def _send_batch(ws: websocket.WebSocket, frames: list[Frame]) -> list[dict[str, Any]]:
    for frame in frames:
        if isinstance(frame.data, bytes):
            ws.send_binary(frame.data)
        else:
            ws.send(frame.data)
    return read_until(ws, lambda got: len(got) >= len(frames))


def closed_by_server(ws: websocket.WebSocket) -> bool:
    """True once the server ends the connection (close frame, FIN or reset); False if it sends
    a data frame instead."""
    try:
        data = ws.recv()
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return True
    finally:
        ws.close()
    return data == ""


def frame_head(size: int) -> bytes:
    """The header of a masked text frame announcing ``size`` payload bytes (RFC 6455 5.2)."""
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 1 << 16:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes([0x81]) + length + b"\x00\x00\x00\x00"  # a zero mask: payload as sent


def oversize_close_code(server: LiveServer, session_id: str, size: int) -> int:
    """Sends only the head of a ``size``-byte frame: the server must refuse it from its header
    (it never buffers the frame) and close with 1009."""
    ws = open_socket(server, session_id)
    try:
        ws.sock.sendall(frame_head(size) + b"x" * 256)
        opcode, frame = ws.recv_data_frame(True)
        if opcode != ABNF.OPCODE_CLOSE:
            return -1
        return int.from_bytes(frame.data[:2], "big")
    finally:
        ws.close()


def run_storm(server: LiveServer, session_id: str, frames: list[Frame]) -> StormReport:
    report = StormReport(sent=len(frames))
    ws = open_socket(server, session_id)
    try:
        for start in range(0, len(frames), BATCH):
            for reply in _send_batch(ws, frames[start : start + BATCH]):
                if reply["type"] == "error":
                    report.answers[reply["code"]] += 1
                else:
                    report.other_frames.append(reply)
    finally:
        ws.close()
    for data in INVALID_UTF8_TEXT:
        ws = open_socket(server, session_id)
        ws.send(data, opcode=ABNF.OPCODE_TEXT)
        report.invalid_utf8_sent += 1
        report.invalid_utf8_closed += int(closed_by_server(ws))
    report.oversize_close_codes = [oversize_close_code(server, session_id, n) for n in OVERSIZE]
    return report
