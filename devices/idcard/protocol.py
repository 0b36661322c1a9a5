"""The SAM serial protocol of resident ID-card readers (GA 467 family), bytes in, values out.

Wire format (PROTOCOLS.md §1.2–1.5)::

    host → reader : AA AA AA 96 69 | LEN_H LEN_L | CMD PARA | DATA… | CHK
    reader → host : AA AA AA 96 69 | LEN_H LEN_L | SW1 SW2 SW3 | DATA… | CHK

``LEN`` is the big-endian count of the bytes after it, ``CHK`` included; ``CHK`` is the XOR of
every byte from ``LEN_H`` to the last data byte. A failure reply is 11 bytes long.

This module is pure: no I/O, no clock, no threads. :class:`FrameDecoder` frames a byte
stream by length, resyncs on the preamble (the field glitch ``AA 00 AA AA 96 69 …``
decodes), ignores stray bytes outside frames, and reports bad checksums, impossible
lengths and the ``AA AA AA A5 5A`` vendor variant as :class:`FrameFault` items in its
output instead of raising, so one bad frame never stops the stream. Its output depends only
on the bytes fed, never on how they were chunked.

The 30 01 / 30 10 reply data is ``text_len(2, BE) photo_len(2, BE) [fp_len(2, BE)] text
photo [fingerprint]``; the 256-byte text block is parsed in :mod:`devices.idcard.model`.

SAM ID (``12 FF``): 16 data bytes, rendered as HslCommunication ``ExtractSafeModuleNumber``
does — ``d0:02 "." d2:02 "-" u32le(d4) "-" u32le(d8):09 "-" u32le(d12):09``. The cw SDK
renders the last two groups differently (10 digits, byte-reversed); we use the first
format only and say so in the Identity. Unsigned integers are used (the C# code's signed
reads give the same digits for every SAM ID below 2^31).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from devices.errors import DeviceError, ProtocolError, Remediation
from devices.idcard.errors import (
    CardDataError,
    CardReadFailedError,
    FrameChecksumError,
    FrameLengthError,
    NoCardError,
    ReaderRejectedCommandError,
    SamFailureError,
    VendorVariantError,
)

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
#: Seen in one public dump; rejected (see module docstring).
VARIANT_PREAMBLE = b"\xaa\xaa\xaa\xa5\x5a"
HEADER_LEN = len(PREAMBLE) + 2
#: A command frame has at least CMD PARA CHK after LEN.
MIN_LEN = 3
#: Longest legal frame body: 30 10 with a 1024-byte fingerprint has LEN 0x090A.
MAX_LEN = 0x0A00

TEXT_LEN = 256
PHOTO_LEN = 1024
FINGERPRINT_LENGTHS = (0, 512, 1024)
SAM_ID_DATA_LEN = 16


def checksum(body: bytes) -> int:
    """XOR of ``body`` (the bytes from LEN_H to the last data byte)."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def build_frame(payload: bytes) -> bytes:
    """Preamble, LEN, ``payload`` (CMD PARA DATA or SW1 SW2 SW3 DATA) and CHK."""
    if len(payload) + 1 > 0xFFFF:
        raise ValueError("payload too long for one frame")
    body = (len(payload) + 1).to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


class Command(Enum):
    """Every command of the table in PROTOCOLS.md §1.3 as ``(CMD, PARA)``."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_APPENDED_ADDRESS = (0x30, 0x03)
    READ_TEXT_PHOTO_FP = (0x30, 0x10)
    SET_BAUD = (0x60, 0x00)  # PARA is the rate index, see BAUD_RATES

    @property
    def cmd(self) -> int:
        return self.value[0]

    @property
    def para(self) -> int:
        return self.value[1]


#: ``60 nn``: index nn → baud rate.
BAUD_RATES = (115200, 57600, 38400, 19200, 9600)


def encode_command(command: Command, para: int | None = None, data: bytes = b"") -> bytes:
    """The full frame of ``command`` (``para`` overrides the table's PARA, for 60 nn)."""
    return build_frame(bytes([command.cmd, command.para if para is None else para]) + data)


def encode_set_baud(baudrate: int) -> bytes:
    if baudrate not in BAUD_RATES:
        raise ValueError(f"unsupported baud rate {baudrate} (one of {BAUD_RATES})")
    return encode_command(Command.SET_BAUD, BAUD_RATES.index(baudrate))


def encode_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader → host frame (the emulator speaks with this)."""
    return build_frame(bytes([sw1, sw2, sw3]) + data)


# --- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawFrame:
    """One checksum-verified frame: ``payload`` is everything between LEN and CHK."""

    payload: bytes

    @property
    def wire_len(self) -> int:
        return HEADER_LEN + len(self.payload) + 1


@dataclass(frozen=True)
class FrameFault:
    """Something in the stream that is not a valid frame; ``error`` says what."""

    error: ProtocolError


Decoded = RawFrame | FrameFault


class FrameDecoder:
    """Streaming decoder: ``feed(bytes)`` returns the frames and faults completed so far.

    Stray bytes outside frames are dropped silently (counted in :attr:`skipped`). After a
    bad checksum or an impossible length the decoder resyncs one byte past the false
    preamble, so a real frame hidden behind a glitch is still found.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0

    def reset(self) -> None:
        self.skipped += len(self._buf)
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes held for a frame that has started but not completed."""
        return len(self._buf) if self._buf.startswith(PREAMBLE) else 0

    @property
    def wanted(self) -> int:
        """How many more bytes the current frame needs at least (1 if unknown)."""
        if not self._buf.startswith(PREAMBLE) or len(self._buf) < HEADER_LEN:
            return 1
        length = int.from_bytes(self._buf[5:7], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            return 1
        return max(1, HEADER_LEN + length - len(self._buf))

    def feed(self, data: bytes) -> list[Decoded]:
        self._buf += data
        out: list[Decoded] = []
        buf = self._buf
        while True:
            # A frame in progress needs no search (keeps 1-byte feeds linear).
            start = 0 if buf.startswith(PREAMBLE) else buf.find(PREAMBLE)
            variant = -1 if start == 0 else buf.find(VARIANT_PREAMBLE)
            if variant != -1 and (start == -1 or variant < start):
                self.skipped += variant
                del buf[: variant + len(VARIANT_PREAMBLE)]
                out.append(
                    FrameFault(
                        VendorVariantError(
                            "frame with the unsupported preamble AA AA AA A5 5A (vendor variant)"
                        )
                    )
                )
                continue
            if start == -1:
                # Keep a tail that may be the start of a preamble split across chunks.
                keep = len(PREAMBLE) - 1
                if len(buf) > keep:
                    self.skipped += len(buf) - keep
                    del buf[: len(buf) - keep]
                return out
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < HEADER_LEN:
                return out
            length = int.from_bytes(buf[5:7], "big")
            if not MIN_LEN <= length <= MAX_LEN:
                out.append(FrameFault(FrameLengthError(f"impossible frame length {length}")))
                self.skipped += 1
                del buf[:1]
                continue
            end = HEADER_LEN + length
            if len(buf) < end:
                return out
            body = bytes(buf[5 : end - 1])
            if checksum(body) != buf[end - 1]:
                out.append(
                    FrameFault(
                        FrameChecksumError(
                            f"checksum mismatch in a {end}-byte frame "
                            f"(got {buf[end - 1]:02X}, computed {checksum(body):02X})"
                        )
                    )
                )
                self.skipped += 1
                del buf[:1]
                continue
            out.append(RawFrame(body[2:]))
            del buf[:end]


def decode_all(data: bytes) -> list[Decoded]:
    """Decode a complete byte string (tests, tools)."""
    return FrameDecoder().feed(data)


# --- replies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: RawFrame) -> Reply:
        p = frame.payload
        if len(p) < 3:
            raise FrameLengthError(f"reply too short for SW1 SW2 SW3 ({len(p)} bytes)")
        return cls(p[0], p[1], p[2], p[3:])


@dataclass(frozen=True)
class CommandFrame:
    cmd: int
    para: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: RawFrame) -> CommandFrame:
        p = frame.payload
        if len(p) < 2:
            raise FrameLengthError(f"command too short for CMD PARA ({len(p)} bytes)")
        return cls(p[0], p[1], p[2:])

    def command(self) -> Command | None:
        if self.cmd == Command.SET_BAUD.cmd:
            return Command.SET_BAUD
        for command in Command:
            if command.value == (self.cmd, self.para):
                return command
        return None


@dataclass(frozen=True)
class Sw3Info:
    """One SW3 status code: its name, meaning and the error class it raises."""

    name: str
    meaning: str
    error: type[DeviceError] | None
    remediation: Remediation | None = None
    consequence: str | None = None


SW_SUCCESS = 0x90
SW_FIND_OK = 0x9F
SW_ITEM_EMPTY = 0x91

#: Every SW3 of PROTOCOLS.md §1.4.
SW3_CODES: dict[int, Sw3Info] = {
    0x90: Sw3Info("success", "success", None),
    0x9F: Sw3Info("find_ok", "card found", None),
    0x91: Sw3Info("item_empty", "this item is empty on the card", None),
    0x10: Sw3Info(
        "rx_checksum_error",
        "the reader received a frame with a bad checksum",
        ReaderRejectedCommandError,
        Remediation.RESET,
        "the command was not executed; check the cable, then retry",
    ),
    0x11: Sw3Info(
        "rx_length_error",
        "the reader received a frame with a bad length",
        ReaderRejectedCommandError,
        Remediation.RESET,
        "the command was not executed; check the cable and baud rate, then retry",
    ),
    0x21: Sw3Info(
        "command_error",
        "the reader rejected the command (bad value or combination)",
        ReaderRejectedCommandError,
        Remediation.RESET,
    ),
    0x23: Sw3Info(
        "unauthorised_operation",
        "the reader refused an operation out of sequence (越权操作)",
        ReaderRejectedCommandError,
        Remediation.RESET,
        "the command was not executed; the read sequence restarts with find card",
    ),
    0x24: Sw3Info(
        "unrecognised_error",
        "the reader reported an unrecognised error",
        ReaderRejectedCommandError,
        Remediation.RESET,
    ),
    0x31: Sw3Info(
        "card_auth_failed",
        "card-to-SAM authentication failed",
        CardReadFailedError,
        Remediation.CITIZEN,
        "the card could not be authenticated; lift and re-place it, or staff check the card",
    ),
    0x32: Sw3Info(
        "sam_auth_failed",
        "SAM-to-card authentication failed",
        CardReadFailedError,
        Remediation.CITIZEN,
        "the card could not be authenticated; lift and re-place it, or staff check the card",
    ),
    0x33: Sw3Info(
        "verification_failed",
        "the card information failed verification",
        CardReadFailedError,
        Remediation.STAFF,
        "the card data is not trusted; staff should check the card by hand",
    ),
    0x40: Sw3Info(
        "unknown_card_type",
        "the card is not an ID card the reader recognises",
        CardReadFailedError,
        Remediation.CITIZEN,
        "nothing was read; the citizen is asked to place a resident ID card",
    ),
    0x41: Sw3Info("card_read_failed", "reading the card failed", CardReadFailedError),
    0x47: Sw3Info("random_failed", "the reader failed to get a random number", CardReadFailedError),
    0x60: Sw3Info(
        "sam_self_test_failed",
        "the SAM failed its self-test and accepts no commands",
        SamFailureError,
        Remediation.MAINTENANCE,
    ),
    0x66: Sw3Info(
        "sam_not_authorised",
        "the SAM is not authorised",
        SamFailureError,
        Remediation.MAINTENANCE,
    ),
    0x80: Sw3Info("find_failed", "no card found", NoCardError, Remediation.CITIZEN),
    0x81: Sw3Info(
        "select_failed",
        "selecting the card failed",
        CardReadFailedError,
        Remediation.CITIZEN,
        "the card could not be selected; the citizen is asked to lift and re-place it",
    ),
}


def error_for(reply: Reply, what: str) -> DeviceError | None:
    """The error for a non-success SW3 of ``what`` (a command name), or None on success."""
    info = SW3_CODES.get(reply.sw3)
    if info is None:
        return ProtocolError(
            f"{what}: unknown status SW3={reply.sw3:02X} (SW1 SW2 {reply.sw1:02X} {reply.sw2:02X})",
            code="unknown_status",
        )
    if info.error is None:
        return None
    return info.error(
        f"{what}: {info.meaning} (SW3={reply.sw3:02X}, SW1 SW2 {reply.sw1:02X} {reply.sw2:02X})",
        code=info.name,
        remediation=info.remediation,
        consequence=info.consequence,
    )


# --- reply data -------------------------------------------------------------------------


@dataclass(frozen=True)
class CardBlocks:
    """The raw blocks of a 30 01 / 30 10 reply. Personal data: never log it."""

    text: bytes
    photo: bytes
    fingerprint: bytes = b""

    def __repr__(self) -> str:
        return (
            f"CardBlocks(text=<{len(self.text)} bytes>, photo=<{len(self.photo)} bytes>, "
            f"fingerprint=<{len(self.fingerprint)} bytes>)"
        )


def parse_card_blocks(data: bytes, *, with_fingerprint: bool) -> CardBlocks:
    """Split the data of a 30 01 (or, ``with_fingerprint``, 30 10) reply into its blocks."""
    n_lens = 3 if with_fingerprint else 2
    head = 2 * n_lens
    if len(data) < head:
        raise CardDataError(f"card data too short for its length fields ({len(data)} bytes)")
    lens = [int.from_bytes(data[i : i + 2], "big") for i in range(0, head, 2)]
    if len(data) != head + sum(lens):
        raise CardDataError(
            f"card data is {len(data) - head} bytes but its length fields say {sum(lens)}"
        )
    if lens[0] != TEXT_LEN:
        raise CardDataError(f"text block is {lens[0]} bytes, expected {TEXT_LEN}")
    text = data[head : head + lens[0]]
    photo = data[head + lens[0] : head + lens[0] + lens[1]]
    fingerprint = data[head + lens[0] + lens[1] :] if with_fingerprint else b""
    return CardBlocks(text, photo, fingerprint)


def encode_card_blocks(blocks: CardBlocks, *, with_fingerprint: bool) -> bytes:
    lens = [len(blocks.text), len(blocks.photo)]
    if with_fingerprint:
        lens.append(len(blocks.fingerprint))
    head = b"".join(n.to_bytes(2, "big") for n in lens)
    return head + blocks.text + blocks.photo + (blocks.fingerprint if with_fingerprint else b"")


def decode_sam_id(data: bytes) -> str:
    """The SAM ID string (HslCommunication format, see the module docstring)."""
    if len(data) < SAM_ID_DATA_LEN:
        raise ProtocolError(f"SAM ID data is {len(data)} bytes, expected {SAM_ID_DATA_LEN}")

    def u32(i: int) -> int:
        return int.from_bytes(data[i : i + 4], "little")

    return f"{data[0]:02d}.{data[2]:02d}-{u32(4)}-{u32(8):09d}-{u32(12):09d}"


def encode_sam_id(a: int, b: int, c: int, d: int, e: int) -> bytes:
    """Inverse of :func:`decode_sam_id` (the emulator's SAM ID)."""
    return (
        bytes([a, 0, b, 0])
        + c.to_bytes(4, "little")
        + d.to_bytes(4, "little")
        + e.to_bytes(4, "little")
    )


def encode_appended_address(address: str) -> bytes:
    """Data of a 30 03 reply: the address as UCS-2LE, 70 bytes, space-padded.

    The sources give no byte layout for this reply; we assume the address field's own
    encoding and width (§1.5) and accept any even length when decoding.
    """
    raw = address.encode("utf-16-le")
    if len(raw) > 70:
        raise ValueError("appended address longer than 35 characters")
    return raw + " ".encode("utf-16-le") * ((70 - len(raw)) // 2)


def decode_appended_address(data: bytes) -> str:
    if len(data) % 2:
        raise CardDataError(f"appended address has an odd length ({len(data)} bytes)")
    try:
        return data.decode("utf-16-le").strip(" \x00")
    except UnicodeDecodeError as err:
        raise CardDataError("appended address is not valid UCS-2") from err


def iter_frames(items: Iterable[Decoded]) -> list[RawFrame]:
    """Only the frames of a decoder's output (tests, tools)."""
    return [i for i in items if isinstance(i, RawFrame)]
