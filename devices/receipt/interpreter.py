"""ESC/POS interpreter of the virtual printer: a byte stream in, jobs and status replies out.

Pure (no I/O, no clock, no threads): :meth:`Interpreter.feed` takes bytes in any chunking
and returns the bytes the printer answers (DLE EOT, GS r, GS I); finished jobs go to the
``on_job`` callback. A job ends at a cut or at :meth:`Interpreter.close` (connection closed).

Text decoding (PROTOCOLS.md §4): Chinese printers boot in Chinese mode and python-escpos
sends bare GB18030, so text is GB18030 by default. ``FS &`` / ``FS .`` switch Kanji mode on
and off explicitly; with Kanji mode off, single bytes are decoded with the ``ESC t`` code
page. When the stream never used FS & / FS . but did select a code page with ``ESC t``,
a run of high bytes is read as GB18030 only if every double byte lies in the GB2312 area
(both bytes ≥ 0xA1) — that keeps "Qu\\x82bec" (CP437 é) from turning into a rare hanzi.

The command tree follows escpos-tools' Printout grammar (MIT; ideas, not code): every
command has a known length or a length prefix, so unknown-but-well-formed commands are
skipped without losing sync, and garbage never raises. Declared payloads above
:data:`MAX_PAYLOAD` are treated as garbage (the introducer byte is dropped) so a bogus
length cannot make the interpreter wait for gigabytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.receipt.protocol import paper_sensor_byte, status_bytes

MAX_PAYLOAD = 4 * 1024 * 1024

#: ESC t n → Python codec (common Epson tables; unknown n falls back to cp437).
CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    21: "cp874",
    33: "cp775",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
    255: "cp437",
}

BARCODE_NAMES: dict[int, str] = {
    0: "UPC-A",
    1: "UPC-E",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1-128",
    75: "GS1-DATABAR-OMNI",
    76: "GS1-DATABAR-TRUNCATED",
    77: "GS1-DATABAR-LIMITED",
    78: "GS1-DATABAR-EXPANDED",
    79: "CODE128-AUTO",
}

# ESC x commands with a fixed number of parameter bytes.
_ESC_FIXED: dict[int, int] = {
    0x20: 1,  # ESC SP right spacing
    0x21: 1,  # ESC ! print mode
    0x24: 2,  # ESC $ absolute position
    0x25: 1,  # ESC % user-defined set
    0x2D: 1,  # ESC - underline
    0x32: 0,  # ESC 2 default line spacing
    0x33: 1,  # ESC 3 line spacing
    0x3D: 1,  # ESC = peripheral
    0x3F: 1,  # ESC ? cancel user char
    0x40: 0,  # ESC @ init
    0x45: 1,  # ESC E bold
    0x47: 1,  # ESC G double strike
    0x4A: 1,  # ESC J print and feed dots
    0x4B: 1,  # ESC K reverse feed (some models)
    0x4C: 0,  # ESC L page mode
    0x4D: 1,  # ESC M font
    0x52: 1,  # ESC R international set
    0x53: 0,  # ESC S standard mode
    0x54: 1,  # ESC T print direction
    0x55: 1,  # ESC U unidirectional
    0x56: 1,  # ESC V rotate
    0x57: 8,  # ESC W print area
    0x5C: 2,  # ESC \ relative position
    0x61: 1,  # ESC a justification
    0x64: 1,  # ESC d print and feed lines
    0x65: 1,  # ESC e reverse feed lines
    0x69: 0,  # ESC i partial cut (legacy)
    0x6D: 0,  # ESC m partial cut (legacy)
    0x70: 3,  # ESC p drawer pulse
    0x72: 1,  # ESC r colour
    0x74: 1,  # ESC t code page
    0x75: 1,  # ESC u peripheral status
    0x76: 0,  # ESC v paper status
    0x7B: 1,  # ESC { upside down
    0x42: 2,  # ESC B n t buzzer (Chinese models)
    0x63: 2,  # ESC c 3/4/5 n sensors
    0x0C: 0,  # ESC FF page mode print
}

# GS x commands with a fixed number of parameter bytes.
_GS_FIXED: dict[int, int] = {
    0x21: 1,  # GS ! size
    0x24: 2,  # GS $ vertical position
    0x2F: 1,  # GS / print downloaded image
    0x3A: 0,  # GS : macro
    0x42: 1,  # GS B reverse
    0x45: 1,  # GS E head control
    0x48: 1,  # GS H HRI position
    0x49: 1,  # GS I printer id (answered)
    0x4C: 2,  # GS L left margin
    0x50: 2,  # GS P motion units
    0x54: 1,  # GS T start of line
    0x57: 2,  # GS W printing area width
    0x5A: 1,  # GS Z 2D code type
    0x5C: 2,  # GS \ relative vertical position
    0x5E: 3,  # GS ^ macro execution
    0x61: 1,  # GS a automatic status back
    0x62: 1,  # GS b smoothing
    0x63: 0,  # GS c print counter
    0x66: 1,  # GS f HRI font
    0x68: 1,  # GS h barcode height
    0x6A: 1,  # GS j ASB for ink
    0x72: 1,  # GS r status (answered)
    0x77: 1,  # GS w barcode width
    0x7C: 1,  # GS | density
}

_FS_FIXED: dict[int, int] = {
    0x21: 1,  # FS ! Kanji print mode
    0x26: 0,  # FS & Kanji on
    0x2D: 1,  # FS - Kanji underline
    0x2E: 0,  # FS . Kanji off
    0x43: 1,  # FS C code system
    0x53: 2,  # FS S Kanji spacing
    0x57: 1,  # FS W quadruple
    0x70: 2,  # FS p print NV image
}


class _IncompleteError(Exception):
    """Not enough bytes yet for the command at the cursor (streaming: wait for more)."""


@dataclass
class Style:
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1
    font: str = "A"
    align: str = "left"
    reverse: bool = False

    def copy(self) -> Style:
        return Style(**self.__dict__)


@dataclass
class Job:
    """One printed job: ``elements`` in paper order; convenience lists for tests/JSON."""

    elements: list[dict[str, Any]] = field(default_factory=list)
    byte_count: int = 0
    faults: list[str] = field(default_factory=list)

    @property
    def text_lines(self) -> list[str]:
        return [str(e["text"]) for e in self.elements if e["type"] == "text" and e["text"]]

    @property
    def qr_payloads(self) -> list[str]:
        return [str(e["data"]) for e in self.elements if e["type"] == "qr"]

    @property
    def barcodes(self) -> list[dict[str, Any]]:
        return [
            {"symbology": e["symbology"], "data": e["data"]}
            for e in self.elements
            if e["type"] == "barcode"
        ]

    @property
    def cuts(self) -> list[dict[str, Any]]:
        return [{"mode": e["mode"]} for e in self.elements if e["type"] == "cut"]

    @property
    def has_content(self) -> bool:
        return bool(self.elements)

    def as_dict(self) -> dict[str, Any]:
        return {
            "printed": not self.faults,
            "faults": list(self.faults),
            "bytes": self.byte_count,
            "text_lines": self.text_lines,
            "qr_payloads": self.qr_payloads,
            "barcodes": self.barcodes,
            "cuts": self.cuts,
            "images": [
                {"width": e["width"], "height": e["height"], "command": e["command"]}
                for e in self.elements
                if e["type"] == "image"
            ],
            "elements": [{k: v for k, v in e.items() if k != "bits"} for e in self.elements],
        }


@dataclass
class Faults:
    """Switchable printer conditions (the emulator's fault switches)."""

    paper_near_end: bool = False
    paper_out: bool = False
    cover_open: bool = False
    offline: bool = False
    cutter_error: bool = False
    #: Answers no status request at all (a printer that has hung or a write-only link).
    unresponsive: bool = False

    NAMES = ("paper_near_end", "paper_out", "cover_open", "offline", "cutter_error", "unresponsive")

    def active(self) -> list[str]:
        return [n for n in self.NAMES if getattr(self, n)]

    def stops_printing(self) -> list[str]:
        return [
            n for n in ("paper_out", "cover_open", "offline", "cutter_error") if getattr(self, n)
        ]

    def set(self, name: str, on: bool = True) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(self.NAMES)})")
        setattr(self, name, on)

    def clear(self) -> None:
        for n in self.NAMES:
            setattr(self, n, False)


def _decode_code128(raw: bytes) -> str:
    """Strip GS k CODE128 code-set selectors ({A {B {C); code set C bytes are digit pairs."""
    if not raw.startswith(b"{"):
        return raw.decode("latin-1")
    out: list[str] = []
    mode = "B"
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x7B and i + 1 < len(raw):
            nxt = raw[i + 1]
            i += 2
            if nxt == 0x7B:
                out.append("{")
            elif chr(nxt) in "ABC":
                mode = chr(nxt)
            continue
        out.append(f"{b:02d}" if mode == "C" and b < 100 else chr(b))
        i += 1
    return "".join(out)


def _is_gb2312_run(raw: bytes) -> bool:
    """Whether every high byte of ``raw`` pairs up as a GB2312 (EUC-CN) double byte."""
    i = 0
    found = False
    while i < len(raw):
        if raw[i] < 0x80:
            i += 1
            continue
        if i + 1 >= len(raw) or not (0xA1 <= raw[i] <= 0xF7 and 0xA1 <= raw[i + 1] <= 0xFE):
            return False
        found = True
        i += 2
    return found


class Interpreter:
    """Streaming ESC/POS interpreter. Not thread-safe: one per connection."""

    def __init__(
        self,
        on_job: Callable[[Job], None],
        faults: Faults | None = None,
        *,
        model: str = "QB-VP80",
    ) -> None:
        self._on_job = on_job
        self.faults = faults or Faults()
        self.model = model
        self._buf = bytearray()
        self._job = Job()
        self._line_raw = bytearray()
        self._line_text: list[str] = []
        self._line_style: Style | None = None
        self._reset_modes()
        self._explicit_codepage = False
        self._qr_data: bytes = b""
        self._pdf417_data: bytes = b""
        self._graphic: dict[str, Any] | None = None
        self._cut_seen = False

    def _reset_modes(self) -> None:
        self.style = Style()
        self.kanji: bool | None = None  # None: never switched; Chinese printers default on
        self.codepage = 0
        self.hri = 0

    # -- public ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the printer's answers (status bytes) in order."""
        self._buf += data
        replies = bytearray()
        pos = 0
        buf = self._buf
        while pos < len(buf):
            try:
                nxt = self._step(buf, pos, replies)
            except _IncompleteError:
                break
            self._job.byte_count += nxt - pos
            pos = nxt
            if self._cut_seen:
                self._cut_seen = False
                self._end_job()
        del self._buf[:pos]
        return bytes(replies)

    def close(self) -> None:
        """The connection ended: whatever was received is a job (partial commands dropped)."""
        self._buf.clear()
        self._end_job()

    @property
    def pending(self) -> int:
        return len(self._buf)

    # -- text -----------------------------------------------------------------------------

    def _encoding_for(self, raw: bytes) -> str:
        if self.kanji is True:
            return "gb18030"
        if self.kanji is False:
            return CODE_PAGES.get(self.codepage, "cp437")
        if not self._explicit_codepage or _is_gb2312_run(raw):
            return "gb18030"
        return CODE_PAGES.get(self.codepage, "cp437")

    def _flush_raw(self) -> None:
        if self._line_raw:
            raw = bytes(self._line_raw)
            enc = self._encoding_for(raw)
            self._line_text.append(codecs.decode(raw, enc, errors="replace"))
            self._line_raw.clear()

    def _add_text(self, raw: bytes) -> None:
        if self._line_style is None:
            self._line_style = self.style.copy()
        self._line_raw += raw

    def _end_line(self) -> None:
        self._flush_raw()
        text = "".join(self._line_text)
        style = self._line_style or self.style.copy()
        self._job.elements.append(
            {
                "type": "text",
                "text": text,
                "align": style.align,
                "bold": style.bold,
                "underline": style.underline,
                "width": style.width,
                "height": style.height,
                "font": style.font,
            }
        )
        self._line_text = []
        self._line_style = None

    def _end_line_if_pending(self) -> None:
        if self._line_raw or self._line_text:
            self._end_line()

    def _end_job(self) -> None:
        self._end_line_if_pending()
        job = self._job
        self._job = Job()
        if job.has_content:
            job.faults = self.faults.stops_printing()
            self._on_job(job)

    # -- the command tree -----------------------------------------------------------------

    @staticmethod
    def _need(buf: bytearray, end: int) -> None:
        if end > len(buf):
            raise _IncompleteError

    def _step(self, buf: bytearray, pos: int, replies: bytearray) -> int:
        b = buf[pos]
        if b >= 0x20 and b != 0x7F:
            end = pos + 1
            while end < len(buf) and buf[end] >= 0x20 and buf[end] != 0x7F:
                end += 1
            self._add_text(bytes(buf[pos:end]))
            return end
        if b == 0x0A:
            self._end_line()
            return pos + 1
        if b == 0x09:
            self._add_text(b" " * 4)
            return pos + 1
        if b == 0x0C:
            self._end_line_if_pending()
            return pos + 1
        if b == 0x10:
            return self._dle(buf, pos, replies)
        if b == 0x1B:
            return self._esc(buf, pos)
        if b == 0x1D:
            return self._gs(buf, pos, replies)
        if b == 0x1C:
            return self._fs(buf, pos)
        return pos + 1  # NUL, CR, CAN and other controls: nothing to print

    def _dle(self, buf: bytearray, pos: int, replies: bytearray) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == 0x04:  # DLE EOT n [a]
            self._need(buf, pos + 3)
            n = buf[pos + 2]
            if n in (7, 8, 0x18):
                self._need(buf, pos + 4)
                if not self.faults.unresponsive:
                    replies.append(0x10 if n == 0x18 else 0x12)
                return pos + 4
            if not self.faults.unresponsive and 1 <= n <= 4:
                f = self.faults
                replies.append(
                    status_bytes(
                        offline=f.offline,
                        cover_open=f.cover_open,
                        paper_near_end=f.paper_near_end,
                        paper_out=f.paper_out,
                        cutter_error=f.cutter_error,
                    )[n]
                )
            return pos + 3
        if cmd == 0x05:  # DLE ENQ n
            self._need(buf, pos + 3)
            return pos + 3
        if cmd == 0x14:  # DLE DC4 fn …
            self._need(buf, pos + 3)
            fn = buf[pos + 2]
            extra = {1: 2, 2: 2, 7: 1, 8: 7}.get(fn, 0)
            self._need(buf, pos + 3 + extra)
            return pos + 3 + extra
        return pos + 1

    def _esc(self, buf: bytearray, pos: int) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == 0x2A:  # ESC * m nL nH d…: bit image, column format
            self._need(buf, pos + 5)
            m, n = buf[pos + 2], buf[pos + 3] | (buf[pos + 4] << 8)
            per_col = 3 if m in (32, 33) else 1
            end = pos + 5 + n * per_col
            self._need(buf, end)
            self._end_line_if_pending()
            self._add_column_image(bytes(buf[pos + 5 : end]), n, per_col * 8)
            return end
        if cmd == 0x44:  # ESC D n1 … NUL: tab stops
            end = pos + 2
            while True:
                self._need(buf, end + 1)
                if buf[end] == 0 or end - pos > 34:
                    return end + 1
                end += 1
        if cmd == 0x26:  # ESC & y c1 c2 [x d1…d(y·x)]…: user-defined characters
            self._need(buf, pos + 5)
            y, c1, c2 = buf[pos + 2], buf[pos + 3], buf[pos + 4]
            end = pos + 5
            for _ in range(max(0, c2 - c1 + 1)):
                self._need(buf, end + 1)
                end += 1 + y * buf[end]
            self._need(buf, end)
            return end
        count = _ESC_FIXED.get(cmd)
        if count is None:
            return pos + 1  # unknown: drop the ESC, resync on the next byte
        end = pos + 2 + count
        self._need(buf, end)
        p = bytes(buf[pos + 2 : end])
        self._esc_apply(cmd, p)
        return end

    def _esc_apply(self, cmd: int, p: bytes) -> None:
        if cmd == 0x40:
            self._end_line_if_pending()
            kanji = self.kanji
            self._reset_modes()
            self.kanji = kanji  # ESC @ does not leave Chinese mode on Chinese printers
        elif cmd == 0x21:
            n = p[0]
            self.style.font = "B" if n & 0x01 else "A"
            self.style.bold = bool(n & 0x08)
            self.style.height = 2 if n & 0x10 else 1
            self.style.width = 2 if n & 0x20 else 1
            self.style.underline = bool(n & 0x80)
        elif cmd in (0x45, 0x47):
            self.style.bold = bool(p[0] & 1)
        elif cmd == 0x2D:
            self.style.underline = p[0] in (1, 2, 0x31, 0x32)
        elif cmd == 0x4D:
            self.style.font = "B" if p[0] in (1, 0x31) else "A"
        elif cmd == 0x61:
            self.style.align = {0: "left", 1: "center", 2: "right"}.get(p[0] % 0x30, "left")
            if self._line_style is not None and not self._line_raw and not self._line_text:
                self._line_style.align = self.style.align
        elif cmd == 0x74:
            self._flush_raw()
            self.codepage = p[0]
            self._explicit_codepage = True
        elif cmd == 0x64:
            self._end_line()
            for _ in range(max(0, p[0] - 1)):
                self._end_line()
        elif cmd == 0x4A:
            self._end_line_if_pending()
        elif cmd in (0x69, 0x6D):
            self._cut("partial")

    def _fs(self, buf: bytearray, pos: int) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == 0x32:  # FS 2 c1 c2 d1…d72: user-defined Kanji
            self._need(buf, pos + 76)
            return pos + 76
        if cmd == 0x71:  # FS q n [xL xH yL yH d…]…: define NV images
            self._need(buf, pos + 3)
            end = pos + 3
            for _ in range(buf[pos + 2]):
                self._need(buf, end + 4)
                x, y = buf[end] | buf[end + 1] << 8, buf[end + 2] | buf[end + 3] << 8
                end += 4 + x * y * 8
                if end - pos > MAX_PAYLOAD:
                    return pos + 1
            self._need(buf, end)
            return end
        count = _FS_FIXED.get(cmd)
        if count is None:
            return pos + 1
        end = pos + 2 + count
        self._need(buf, end)
        if cmd == 0x26:
            self._flush_raw()
            self.kanji = True
        elif cmd == 0x2E:
            self._flush_raw()
            self.kanji = False
        return end

    def _gs(self, buf: bytearray, pos: int, replies: bytearray) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == 0x56:  # GS V m [n]
            self._need(buf, pos + 3)
            m = buf[pos + 2]
            end = pos + 3 if m in (0, 1, 0x30, 0x31) else pos + 4
            self._need(buf, end)
            self._cut("full" if m in (0, 0x30, 65, 97, 103) else "partial")
            return end
        if cmd == 0x76:  # GS v 0 m xL xH yL yH d…
            self._need(buf, pos + 8)
            if buf[pos + 2] != 0x30:
                return pos + 1
            x = buf[pos + 4] | buf[pos + 5] << 8
            y = buf[pos + 6] | buf[pos + 7] << 8
            end = pos + 8 + x * y
            if x * y > MAX_PAYLOAD:
                return pos + 1
            self._need(buf, end)
            self._end_line_if_pending()
            self._add_raster(bytes(buf[pos + 8 : end]), x * 8, y, "GS v 0")
            return end
        if cmd == 0x6B:  # GS k m …
            return self._barcode(buf, pos)
        if cmd == 0x28:  # GS ( X pL pH …
            self._need(buf, pos + 5)
            size = buf[pos + 3] | buf[pos + 4] << 8
            end = pos + 5 + size
            self._need(buf, end)
            self._gs_paren(buf[pos + 2], bytes(buf[pos + 5 : end]))
            return end
        if cmd == 0x38:  # GS 8 L p1 p2 p3 p4 …: graphics with a 32-bit length
            self._need(buf, pos + 7)
            size = int.from_bytes(buf[pos + 3 : pos + 7], "little")
            if size > MAX_PAYLOAD:
                return pos + 1
            end = pos + 7 + size
            self._need(buf, end)
            if buf[pos + 2] == 0x4C:
                self._gs_paren(0x4C, bytes(buf[pos + 7 : end]))
            return end
        if cmd == 0x2A:  # GS * x y d…: downloaded bit image
            self._need(buf, pos + 4)
            end = pos + 4 + buf[pos + 2] * buf[pos + 3] * 8
            self._need(buf, end)
            return end
        count = _GS_FIXED.get(cmd)
        if count is None:
            return pos + 1
        end = pos + 2 + count
        self._need(buf, end)
        p = bytes(buf[pos + 2 : end])
        if cmd == 0x21:
            self.style.width = (p[0] >> 4 & 0x07) + 1
            self.style.height = (p[0] & 0x07) + 1
        elif cmd == 0x42:
            self.style.reverse = bool(p[0] & 1)
        elif cmd == 0x48:
            self.hri = p[0] % 0x30
        elif cmd == 0x72:
            # GS r is processed in buffer order: a printer stopped by a fault never gets to it.
            if not self.faults.unresponsive and not self.faults.stops_printing():
                n = p[0] % 0x30
                f = self.faults
                if n == 1:
                    replies.append(
                        paper_sensor_byte(paper_near_end=f.paper_near_end, paper_out=f.paper_out)
                    )
                else:
                    replies.append(0x00)
        elif cmd == 0x49:
            replies += self._printer_id(p[0])
        return end

    def _printer_id(self, n: int) -> bytes:
        if self.faults.unresponsive:
            return b""
        if n in (1, 0x31):
            return b"\x20"  # model id
        if n in (2, 0x32):
            return b"\x02"  # type: autocutter present
        if n in (3, 0x33):
            return b"\x01"
        text = {0x41: b"1.0", 0x42: b"Quanban", 0x43: self.model.encode("ascii"), 0x44: b"VP0001"}
        if n in text:
            return b"_" + text[n] + b"\x00"
        return b""

    def _barcode(self, buf: bytearray, pos: int) -> int:
        self._need(buf, pos + 3)
        m = buf[pos + 2]
        if m <= 6:  # function A: NUL-terminated
            end = pos + 3
            while True:
                self._need(buf, end + 1)
                if buf[end] == 0:
                    break
                end += 1
                if end - pos > 255:
                    return pos + 1
            data, nxt = bytes(buf[pos + 3 : end]), end + 1
        elif 65 <= m <= 79:  # function B: length byte
            self._need(buf, pos + 4)
            n = buf[pos + 3]
            nxt = pos + 4 + n
            self._need(buf, nxt)
            data = bytes(buf[pos + 4 : nxt])
        else:
            return pos + 1
        self._end_line_if_pending()
        name = BARCODE_NAMES.get(m, str(m))
        text = _decode_code128(data) if name.startswith("CODE128") else data.decode("latin-1")
        self._job.elements.append(
            {"type": "barcode", "symbology": name, "data": text, "align": self.style.align}
        )
        return nxt

    def _gs_paren(self, kind: int, body: bytes) -> None:
        if kind == 0x6B and len(body) >= 2:  # GS ( k: cn fn …
            cn, fn, rest = body[0], body[1], body[2:]
            if fn == 0x50 and rest:  # store: m d…
                if cn == 0x31:
                    self._qr_data = rest[1:]
                elif cn == 0x30:
                    self._pdf417_data = rest[1:]
            elif fn == 0x51:  # print the stored symbol
                self._end_line_if_pending()
                if cn == 0x31 and self._qr_data:
                    data = self._qr_data.decode("utf-8", errors="replace")
                    self._job.elements.append(
                        {"type": "qr", "data": data, "align": self.style.align}
                    )
                elif cn == 0x30 and self._pdf417_data:
                    self._job.elements.append(
                        {
                            "type": "barcode",
                            "symbology": "PDF417",
                            "data": self._pdf417_data.decode("latin-1"),
                            "align": self.style.align,
                        }
                    )
        elif kind == 0x4C and len(body) >= 2:  # GS ( L: m fn …
            fn = body[1]
            if fn == 0x70 and len(body) >= 10:  # store raster graphics in the print buffer
                x = body[6] | body[7] << 8
                y = body[8] | body[9] << 8
                bits = body[10 : 10 + ((x + 7) // 8) * y]
                self._graphic = {"width": x, "height": y, "bits": bits}
            elif fn in (0x32, 0x02) and self._graphic is not None:  # print buffered graphics
                g, self._graphic = self._graphic, None
                self._end_line_if_pending()
                self._add_raster(g["bits"], g["width"], g["height"], "GS ( L")

    # -- images and cuts ------------------------------------------------------------------

    def _add_raster(self, bits: bytes, width: int, height: int, command: str) -> None:
        self._job.elements.append(
            {
                "type": "image",
                "command": command,
                "width": width,
                "height": height,
                "align": self.style.align,
                "bits": bits,
            }
        )

    def _add_column_image(self, data: bytes, columns: int, dots: int) -> None:
        """ESC * column data → row-major raster bits (MSB first) like GS v 0."""
        per_col = dots // 8
        xbytes = (columns + 7) // 8
        rows = bytearray(xbytes * dots)
        for c in range(columns):
            for k in range(per_col):
                byte = data[c * per_col + k]
                if not byte:
                    continue
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        r = k * 8 + bit
                        rows[r * xbytes + c // 8] |= 0x80 >> (c % 8)
        self._add_raster(bytes(rows), columns, dots, "ESC *")

    def _cut(self, mode: str) -> None:
        self._end_line_if_pending()
        self._job.elements.append({"type": "cut", "mode": mode})
        self._cut_seen = True
