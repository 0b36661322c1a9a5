"""Code-scanner wire protocol: framing, payload decoding, AIM ids, host-trigger commands.

Pure functions and small state machines: bytes in, values out, no I/O and no clock (callers
pass the monotonic time in). Facts from PROTOCOLS.md §3.

Wire format (serial: USB-CDC or RS-232; also the character stream of a keyboard wedge)
------------------------------------------------------------------------------------
* A scan is ``[AIM id] payload suffix``. The suffix is configurable on the scanner: CR
  (``0D``, the usual default), CRLF (``0D 0A``), TAB (``09``) or none. With no suffix a scan
  ends when the line has been quiet for the inter-byte timeout (the fallback framing).
* The payload is UTF-8 or GB18030 text, or binary. Neither text encoding ever produces
  ``09``/``0A``/``0D`` inside a multi-byte character, so suffix framing is safe for text;
  binary payloads that may contain those bytes need ``Suffix.NONE``.
* Optional AIM symbology identifier (ISO/IEC 15424) in front: ``]`` + code letter +
  modifier digit, e.g. ``]Q1`` QR Code, ``]C0`` Code 128, ``]E0`` EAN-13, ``]d2`` Data Matrix.
* Honeywell host trigger: ``16 54 0D`` (SYN T CR) arms, ``16 55 0D`` (SYN U CR) disarms.
* Newland setup mode: ``$$$$`` → reply ``@@@@``; commands ``#…;`` → ``!…;`` (ok) or
  ``?…;`` (refused); ``%%%%`` → reply ``^^^^`` leaves setup.
* Generic OEM (NADAMOO) command: ``LEN … CHK_H CHK_L`` where the checksum is the 16-bit two's
  complement of the byte sum of everything before it.

Personal data: scanned payloads (a 鲁通码 above all) are personal data. Nothing here logs;
:class:`DuplicateFilter` keeps only a keyed hash of the last payload, never the payload.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Suffix(StrEnum):
    """The terminator a scanner appends to every scan."""

    CR = "cr"
    CRLF = "crlf"
    TAB = "tab"
    NONE = "none"

    @property
    def terminator(self) -> bytes:
        return {"cr": b"\r", "crlf": b"\r\n", "tab": b"\t", "none": b""}[self.value]


@dataclass
class Framer:
    """Splits a byte stream into scans on the suffix, or on silence when there is none.

    ``feed(data, now)`` returns the complete frames (suffix removed) found so far;
    ``flush_due(now)`` returns the pending frame once the line has been quiet for
    ``gap_s`` (always used for ``Suffix.NONE``; for the other suffixes only as a safety
    net for a scan whose terminator was lost, when ``gap_s_with_suffix`` is set).
    ``max_len`` bounds a frame so a stuck stream cannot grow memory without limit.
    """

    suffix: Suffix = Suffix.CR
    gap_s: float = 0.05
    #: Silence after which a partial frame is emitted even though a suffix is configured
    #: (None: wait for the suffix forever; partial frames are dropped by ``max_len``).
    gap_s_with_suffix: float | None = None
    max_len: int = 4096
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _last: float | None = field(default=None, repr=False)
    _discarding: bool = field(default=False, repr=False)
    #: Set when ``max_len`` cut a frame; the rest up to the next suffix is discarded.
    overflowed: int = 0

    def feed(self, data: bytes, now: float) -> list[bytes]:
        frames: list[bytes] = []
        if data:
            self._last = now
        term = self.suffix.terminator
        if not term:
            self._buf += data
            if len(self._buf) > self.max_len:
                # Over-long: drop it, and everything up to the next quiet gap.
                self.overflowed += 1
                self._discarding = True
                self._buf = bytearray(b"\x00")  # keeps the gap deadline armed
            return frames
        self._buf += data
        while True:
            idx = self._buf.find(term)
            if idx < 0:
                break
            frame = bytes(self._buf[:idx])
            del self._buf[: idx + len(term)]
            if self._discarding:
                self._discarding = False  # the tail of an over-long frame
            elif frame:
                frames.append(frame)
        # A lone CR at the end may be the first half of a CRLF split across two reads.
        keep = 1 if self.suffix is Suffix.CRLF and self._buf.endswith(b"\r") else 0
        if len(self._buf) - keep > self.max_len:
            self.overflowed += 1
            self._discarding = True
            self._buf = bytearray(self._buf[len(self._buf) - keep :])
        return frames

    def pending(self) -> int:
        return len(self._buf)

    def next_deadline(self) -> float | None:
        """Monotonic time at which ``flush_due`` will emit the pending bytes, if ever."""
        if not self._buf or self._last is None:
            return None
        gap = self.gap_s if self.suffix is Suffix.NONE else self.gap_s_with_suffix
        return None if gap is None else self._last + gap

    def flush_due(self, now: float) -> bytes | None:
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return None
        frame = bytes(self._buf)
        self._buf.clear()
        if self._discarding:
            self._discarding = False
            return None
        if self.suffix is Suffix.CRLF and frame.endswith(b"\r"):
            frame = frame[:-1]
        return frame or None

    def reset(self) -> None:
        self._buf.clear()
        self._last = None
        self._discarding = False


# --- payload decoding -----------------------------------------------------------------


class PayloadEncoding(StrEnum):
    AUTO = "auto"  # UTF-8 if valid, else GB18030, else binary
    UTF8 = "utf-8"
    GB18030 = "gb18030"
    BINARY = "binary"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Payload:
    """A decoded scan: ``text`` is None for binary payloads; ``raw`` is always kept."""

    raw: bytes = field(repr=False)
    text: str | None = field(repr=False)
    encoding: str  # "utf-8", "gb18030", "ascii" or "binary"

    def __repr__(self) -> str:  # never show the payload itself
        return f"Payload(<{len(self.raw)} bytes>, encoding={self.encoding!r})"


def _as_text(raw: bytes, codec: str) -> str | None:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


#: UTF-8 text in this range (Latin-1 supplement … Arabic) is what GB18030 double-byte
#: Chinese looks like when misread as UTF-8, and is rare on a Chinese kiosk.
_UNLIKELY_UTF8 = re.compile(r"[\u0080-\u07ff]")


def decode_payload(raw: bytes, encoding: PayloadEncoding = PayloadEncoding.AUTO) -> Payload:
    """Decode a frame. Control characters other than TAB/CR/LF mean binary.

    AUTO tries UTF-8 first (GB18030 accepts almost any byte pair, so valid UTF-8 multi-byte
    sequences are stronger evidence) unless the UTF-8 reading contains U+0080–U+07FF and
    the bytes are also valid GB18030. Some short byte strings are valid in both encodings
    and no rule can tell them apart: configure ``encoding`` when the scanner's is known.
    """
    if encoding is PayloadEncoding.BINARY:
        return Payload(raw, None, "binary")
    if raw.isascii():
        text = _as_text(raw, "ascii")
        return Payload(raw, text, "ascii" if text is not None else "binary")
    if encoding is PayloadEncoding.AUTO:
        utf8 = _as_text(raw, "utf-8")
        if utf8 is not None and _UNLIKELY_UTF8.search(utf8):
            gb = _as_text(raw, "gb18030")
            if gb is not None:
                return Payload(raw, gb, "gb18030")
    order = {
        PayloadEncoding.AUTO: ("utf-8", "gb18030"),
        PayloadEncoding.UTF8: ("utf-8",),
        PayloadEncoding.GB18030: ("gb18030",),
    }[encoding]
    for codec in order:
        text = _as_text(raw, codec)
        if text is not None:
            return Payload(raw, text, codec)
    return Payload(raw, None, "binary")


# --- AIM symbology identifiers ----------------------------------------------------------

#: AIM code letter → our symbology name (ISO/IEC 15424; the common subset).
AIM_SYMBOLOGIES: dict[str, str] = {
    "A": "code39",
    "C": "code128",
    "d": "datamatrix",
    "E": "ean_upc",
    "e": "databar",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "L": "pdf417",
    "Q": "qrcode",
    "z": "aztec",
    "X": "other",
}

_AIM = re.compile(rb"\](?P<letter>[A-Za-z])(?P<mod>[0-9A-Za-z])")


def split_aim(frame: bytes) -> tuple[str | None, bytes]:
    """``]Q1…`` → ("qrcode", rest). Frames without a known AIM id come back unchanged."""
    m = _AIM.match(frame)
    if m is None:
        return None, frame
    letter = m.group("letter").decode("ascii")
    name = AIM_SYMBOLOGIES.get(letter)
    if name is None:
        return None, frame
    if name == "ean_upc":
        name = "ean13" if m.group("mod") == b"0" else "ean_upc"
    return name, frame[m.end() :]


# --- host-trigger and setup commands -----------------------------------------------------

SYN = 0x16
HONEYWELL_TRIGGER_ON = bytes([SYN, ord("T"), 0x0D])
HONEYWELL_TRIGGER_OFF = bytes([SYN, ord("U"), 0x0D])
#: HID-POS wraps the same commands as ``FD 03 …`` (report id FD, length 3).
HIDPOS_PREFIX = bytes([0xFD, 0x03])

NEWLAND_ENTER_SETUP = b"$$$$"
NEWLAND_ENTER_ACK = b"@@@@"
NEWLAND_EXIT_SETUP = b"%%%%"
NEWLAND_EXIT_ACK = b"^^^^"

_NEWLAND_CMD = re.compile(rb"#[0-9A-Za-z]{1,32};")
_NEWLAND_REPLY = re.compile(rb"(?P<kind>[!?])(?P<body>[0-9A-Za-z]{1,32});")


class TriggerProtocol(StrEnum):
    """How the host arms and disarms the scanner."""

    NONE = "none"  # the scanner reads on its own (presentation / continuous mode)
    HONEYWELL = "honeywell"  # SYN T CR / SYN U CR
    CUSTOM = "custom"  # arm/disarm bytes from the configuration (hex)


@dataclass(frozen=True)
class TriggerCommands:
    arm: bytes
    disarm: bytes


def trigger_commands(
    protocol: TriggerProtocol, *, arm_hex: str = "", disarm_hex: str = ""
) -> TriggerCommands | None:
    """Bytes to arm/disarm; ``None`` for scanners that read without a host trigger."""
    if protocol is TriggerProtocol.NONE:
        return None
    if protocol is TriggerProtocol.HONEYWELL:
        return TriggerCommands(HONEYWELL_TRIGGER_ON, HONEYWELL_TRIGGER_OFF)
    try:
        arm, disarm = bytes.fromhex(arm_hex), bytes.fromhex(disarm_hex)
    except ValueError as err:
        raise ValueError(f"custom trigger commands must be hex: {err}") from err
    if not arm or not disarm:
        raise ValueError("custom trigger needs both arm_hex and disarm_hex")
    return TriggerCommands(arm, disarm)


def newland_command(body: str) -> bytes:
    """``"99900030"`` → ``b"#99900030;"`` (validated: 1–32 alphanumerics)."""
    cmd = f"#{body};".encode("ascii", errors="strict") if body.isascii() else b""
    if not _NEWLAND_CMD.fullmatch(cmd):
        raise ValueError(f"not a Newland setup command body: {body!r}")
    return cmd


@dataclass(frozen=True)
class NewlandReply:
    ok: bool
    body: str


def parse_newland_reply(data: bytes) -> tuple[NewlandReply | None, bytes]:
    """Find the first ``!…;`` / ``?…;`` reply in ``data``; return it and what follows."""
    m = _NEWLAND_REPLY.search(data)
    if m is None:
        return None, data
    reply = NewlandReply(m.group("kind") == b"!", m.group("body").decode("ascii"))
    return reply, data[m.end() :]


def nadamoo_command(body: bytes) -> bytes:
    """Append the 16-bit two's-complement checksum of the byte sum (big-endian)."""
    total = sum(body) & 0xFFFF
    chk = (-total) & 0xFFFF
    return body + chk.to_bytes(2, "big")


def nadamoo_check(frame: bytes) -> bool:
    """True when the last two bytes are the checksum of the rest."""
    if len(frame) < 3:
        return False
    return nadamoo_command(frame[:-2]) == frame


# --- duplicate suppression -------------------------------------------------------------


class DuplicateFilter:
    """Drops a scan equal to the previous one within ``window_s`` (a code held in front of
    a presentation scanner reads many times a second).

    Only a keyed BLAKE2b digest of the last payload is kept, with a per-process random
    key, so the filter never holds a 鲁通码 or anything else that was scanned.
    """

    def __init__(self, window_s: float = 1.5) -> None:
        self.window_s = window_s
        self._key = os.urandom(16)
        self._last: bytes | None = None
        self._last_at = float("-inf")

    def _digest(self, raw: bytes) -> bytes:
        return hashlib.blake2b(raw, key=self._key, digest_size=16).digest()

    def accept(self, raw: bytes, now: float) -> bool:
        digest = self._digest(raw)
        duplicate = digest == self._last and now - self._last_at < self.window_s
        # A held code keeps refreshing the window, so it stays suppressed while held.
        self._last, self._last_at = digest, now
        return not duplicate

    def clear(self) -> None:
        self._last = None
        self._last_at = float("-inf")
