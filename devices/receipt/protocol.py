"""ESC/POS byte building and status parsing: bytes in, values out (no I/O, no clock).

Wire format: PROTOCOLS.md §4. The commands we send:

* ``ESC @`` init · ``ESC a n`` align · ``ESC E n`` bold · ``GS ! n`` size (high nibble
  width−1, low nibble height−1) · ``ESC d n`` feed · ``GS V 66 n`` feed-and-partial-cut;
* Chinese text as ``FS &`` (Kanji mode on) + GB18030 bytes + ``FS .`` (off), so printers
  that boot in single-byte mode still print Chinese, and ASCII-only text as plain ASCII;
* QR as the ``GS ( k`` sequence (model, module size, error correction, store, print);
* barcodes as ``GS k m n data`` (function B, explicit length);
* real-time status requests ``DLE EOT n`` (n = 1…4) and ``GS r n``.

Why our own builder rather than python-escpos: python-escpos 3.1 sends Chinese as bare
GB18030 without ``FS &`` (so printers left in single-byte mode print mojibake),
``charcode('GB18030')`` raises, rarer characters become ``?``, and its status helpers
return magic ints (STACK.md). The subset we need is a few dozen lines of pure byte
building, checked byte for byte against python-escpos's own test expectations
(``../shared/vectors/escpos/escpos_vectors.json``).

Status bytes (DLE EOT): bits 1 and 4 are always 1, bits 0 and 7 always 0 — a reply that
breaks this is not a status byte and raises :class:`~devices.errors.ProtocolError`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from devices.errors import ProtocolError

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
LF = b"\n"

INIT = ESC + b"@"
KANJI_ON = FS + b"&"
KANJI_OFF = FS + b"."


class Align(IntEnum):
    LEFT = 0
    CENTER = 1
    RIGHT = 2


class QrEc(IntEnum):
    """QR error-correction level (GS ( k fn 69 parameter)."""

    L = 0x30
    M = 0x31
    Q = 0x32
    H = 0x33


class BarcodeType(IntEnum):
    """GS k function-B symbology codes (m = 65…)."""

    UPC_A = 65
    UPC_E = 66
    EAN13 = 67
    EAN8 = 68
    CODE39 = 69
    ITF = 70
    CODABAR = 71
    CODE93 = 72
    CODE128 = 73


def _gs_k(cn: int, fn: int, params: bytes) -> bytes:
    """``GS ( k pL pH cn fn params``: the length counts cn, fn and the parameters."""
    size = len(params) + 2
    if size > 0xFFFF:
        raise ValueError("GS ( k payload too long")
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, cn, fn]) + params


def qr(data: str | bytes, *, size: int = 3, ec: QrEc = QrEc.L, model: int = 2) -> bytes:
    """Native QR: model, module size, error correction, store, print (python-escpos order).

    An empty payload gives no bytes (as python-escpos does: there is nothing to print).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not payload:
        return b""
    if not 1 <= size <= 16:
        raise ValueError("QR module size must be 1..16")
    if model not in (1, 2):
        raise ValueError("QR model must be 1 or 2")
    return b"".join(
        (
            _gs_k(0x31, 0x41, bytes([0x30 + model, 0])),
            _gs_k(0x31, 0x43, bytes([size])),
            _gs_k(0x31, 0x45, bytes([ec])),
            _gs_k(0x31, 0x50, b"\x30" + payload),
            _gs_k(0x31, 0x51, b"\x30"),
        )
    )


def cut(*, feed: bool = True, lines: int = 3, partial: bool = True) -> bytes:
    """``GS V 65/66 n`` (feed n lines then cut); without feed ``GS V 66 0`` as python-escpos."""
    mode = 0x42 if partial else 0x41
    return GS + b"V" + bytes([mode, max(0, min(lines, 255)) if feed else 0])


def align(a: Align) -> bytes:
    return ESC + b"a" + bytes([int(a)])


def bold(on: bool) -> bytes:
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def underline(on: bool) -> bytes:
    return ESC + b"-" + (b"\x01" if on else b"\x00")


def char_size(width: int = 1, height: int = 1) -> bytes:
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character magnification must be 1..8")
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def feed(lines: int = 1) -> bytes:
    return ESC + b"d" + bytes([max(0, min(lines, 255))])


def codepage(n: int) -> bytes:
    return ESC + b"t" + bytes([n & 0xFF])


def is_ascii(text: str) -> bool:
    return all(ord(c) < 0x80 for c in text)


def text(s: str) -> bytes:
    """Text without a newline: ASCII as is; anything else in Kanji mode as GB18030."""
    if is_ascii(s):
        return s.encode("ascii")
    return KANJI_ON + s.encode("gb18030", errors="replace") + KANJI_OFF


def textln(s: str) -> bytes:
    return text(s) + LF


def barcode(data: str, kind: BarcodeType = BarcodeType.CODE128, *, height: int = 64) -> bytes:
    """HRI below, height in dots, then ``GS k m n data`` (CODE128 with code set B)."""
    raw = data.encode("ascii")
    if kind == BarcodeType.CODE128 and not raw.startswith(b"{"):
        raw = b"{B" + raw.replace(b"{", b"{{")
    if not 0 < len(raw) < 256:
        raise ValueError("barcode data must be 1..255 bytes")
    return (
        GS + b"H\x02" + GS + b"h" + bytes([max(1, min(height, 255))])
        + GS + b"k" + bytes([int(kind), len(raw)]) + raw
    )  # fmt: skip


def raster(width_px: int, height_px: int, rows: bytes) -> bytes:
    """``GS v 0``: 1 bit per dot, MSB first, rows of ceil(width/8) bytes."""
    xbytes = (width_px + 7) // 8
    if len(rows) != xbytes * height_px:
        raise ValueError("raster data does not match its size")
    return (
        GS
        + b"v0\x00"
        + bytes([xbytes & 0xFF, xbytes >> 8, height_px & 0xFF, height_px >> 8])
        + rows
    )


def display_width(s: str) -> int:
    """Columns taken by ``s`` in font A: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


# --- real-time status ---------------------------------------------------------------------

#: DLE EOT 1, 2, 3, 4 in one write; the printer answers one byte each, in order.
STATUS_REQUEST = b"".join(DLE + b"\x04" + bytes([n]) for n in (1, 2, 3, 4))
#: GS r 1: paper sensor status (answered through the normal output path, after the buffer).
PAPER_SENSOR_REQUEST = GS + b"r\x01"


@dataclass(frozen=True)
class PrinterStatus:
    """Decoded DLE EOT 1–4 replies."""

    offline: bool = False
    cover_open: bool = False
    feed_button: bool = False
    paper_stop: bool = False  # stopped because the paper ran out
    error: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    paper_near_end: bool = False
    paper_out: bool = False

    @property
    def fault(self) -> str | None:
        """The condition that stops printing, most specific first; None when it can print."""
        if self.paper_out or self.paper_stop:
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.cutter_error:
            return "cutter_error"
        if self.unrecoverable_error or self.error or self.auto_recoverable_error:
            return "error"
        if self.offline:
            return "offline"
        return None

    @property
    def paper(self) -> str:
        if self.paper_out or self.paper_stop:
            return "out"
        return "near_end" if self.paper_near_end else "ok"

    def detail(self) -> dict[str, str]:
        """The ``DeviceStatus.detail`` mapping staff screens show."""
        return {
            "paper": self.paper,
            "cover": "open" if self.cover_open else "closed",
            "cutter": "error" if self.cutter_error else "ok",
            "printer": "offline" if self.offline else "online",
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "offline": self.offline,
            "cover_open": self.cover_open,
            "paper_near_end": self.paper_near_end,
            "paper_out": self.paper_out or self.paper_stop,
            "cutter_error": self.cutter_error,
            "unrecoverable_error": self.unrecoverable_error,
            "auto_recoverable_error": self.auto_recoverable_error,
            "fault": self.fault,
            "detail": self.detail(),
        }


def check_status_byte(value: int) -> int:
    """Raise ProtocolError unless ``value`` has the fixed DLE EOT bits (1,4 set; 0,7 clear)."""
    if not 0 <= value <= 0xFF or value & 0x93 != 0x12:
        raise ProtocolError(f"not a DLE EOT status byte: 0x{value & 0xFF:02X}")
    return value


def parse_status(replies: Mapping[int, int]) -> PrinterStatus:
    """Decode the replies to DLE EOT n (keys 1…4; any subset); raise ProtocolError if bad."""
    for n, value in replies.items():
        if n not in (1, 2, 3, 4):
            raise ProtocolError(f"DLE EOT {n} is not a status request we decode")
        check_status_byte(value)
    r1, r2, r3, r4 = (replies.get(n, 0x12) for n in (1, 2, 3, 4))
    return PrinterStatus(
        offline=bool(r1 & 0x08),
        cover_open=bool(r2 & 0x04),
        feed_button=bool(r2 & 0x08),
        paper_stop=bool(r2 & 0x20),
        error=bool(r2 & 0x40),
        cutter_error=bool(r3 & 0x08),
        unrecoverable_error=bool(r3 & 0x20),
        auto_recoverable_error=bool(r3 & 0x40),
        paper_near_end=bool(r4 & 0x0C),
        paper_out=bool(r4 & 0x60),
    )


def parse_status_reply(reply: bytes) -> PrinterStatus:
    """Decode the 4-byte answer to :data:`STATUS_REQUEST`."""
    if len(reply) != 4:
        raise ProtocolError(f"expected 4 status bytes, got {len(reply)}")
    return parse_status({n: reply[n - 1] for n in (1, 2, 3, 4)})


def parse_paper_sensor(value: int) -> str:
    """GS r 1: bits 0–1 near end, bits 2–3 paper end, bit 4 and 7 fixed 0 → ok|near_end|out."""
    if not 0 <= value <= 0xFF or value & 0x90:
        raise ProtocolError(f"not a GS r 1 reply: 0x{value & 0xFF:02X}")
    if value & 0x0C:
        return "out"
    return "near_end" if value & 0x03 else "ok"


def status_bytes(
    *,
    offline: bool = False,
    cover_open: bool = False,
    paper_near_end: bool = False,
    paper_out: bool = False,
    cutter_error: bool = False,
) -> dict[int, int]:
    """What a printer in this condition answers to DLE EOT 1…4 (used by the emulator)."""
    stopped = offline or cover_open or paper_out or cutter_error
    r1 = 0x12 | (0x08 if stopped else 0)
    r2 = 0x12 | (0x04 if cover_open else 0) | (0x20 if paper_out else 0)
    r2 |= 0x40 if cutter_error else 0
    r3 = 0x12 | (0x08 if cutter_error else 0) | (0x20 if cutter_error else 0)
    r4 = 0x12 | (0x0C if paper_near_end or paper_out else 0) | (0x60 if paper_out else 0)
    return {1: r1, 2: r2, 3: r3, 4: r4}


def paper_sensor_byte(*, paper_near_end: bool = False, paper_out: bool = False) -> int:
    return (0x03 if paper_near_end or paper_out else 0) | (0x0C if paper_out else 0)
