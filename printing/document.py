"""The document model: a document is laid out once, as blocks, and rendered twice.

:mod:`printing.escpos` turns a :class:`Document` into ESC/POS bytes for 58/80 mm receipt
printers; :mod:`printing.pdf` into a PDF (A4 or receipt width). Blocks say *what* is on
the paper (a title, a label/value field, a paragraph, a QR code); each renderer decides
how it looks on its medium. Documents carry personal data exactly as printed; they are
never logged (log the ``kind`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class Heading:
    """A title line: large and bold, centred."""

    text: str
    level: int = 1  # 1: double size; 2: bold at normal size


@dataclass(frozen=True)
class Text:
    """A line (wrapped if too long) with simple styling."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    large: bool = False


@dataclass(frozen=True)
class Field:
    """``label：value``; the value wraps under itself on narrow paper."""

    label: str
    value: str
    emphasis: bool = False


@dataclass(frozen=True)
class Paragraph:
    """Body text, wrapped to the width, first line indented two characters (Chinese style)."""

    text: str
    indent: bool = True


@dataclass(frozen=True)
class Rule:
    """A horizontal separator."""


@dataclass(frozen=True)
class Spacer:
    lines: int = 1


@dataclass(frozen=True)
class QrCode:
    payload: str
    caption: str = ""
    #: Side of the code on paper (PDF); the ESC/POS module size is derived from it.
    size_mm: float = 28.0


@dataclass(frozen=True)
class Barcode:
    """A CODE128 barcode with its text underneath."""

    data: str


@dataclass(frozen=True)
class Signature:
    """A signature line: label, blank to sign on, and a date blank."""

    label: str
    date_label: str = "日期"


Block = Heading | Text | Field | Paragraph | Rule | Spacer | QrCode | Barcode | Signature


@dataclass(frozen=True)
class Document:
    """What is printed. ``kind`` names the document type (safe to log)."""

    kind: str
    title: str
    blocks: tuple[Block, ...]
    #: Small print at the bottom of every page/receipt (issuer, kiosk, time).
    footer: str = ""

    def plain_text(self) -> list[str]:
        """Every human-readable string on the paper, in order (renderers are checked against it)."""
        out: list[str] = []
        for b in self.blocks:
            if isinstance(b, Heading | Text | Paragraph):
                out.append(b.text)
            elif isinstance(b, Field):
                out.append(f"{b.label}：{b.value}")
            elif isinstance(b, QrCode) and b.caption:
                out.append(b.caption)
            elif isinstance(b, Barcode):
                out.append(b.data)
            elif isinstance(b, Signature):  # the blanks to write on are not text
                out += [f"{b.label}：", f"{b.date_label}：年月日"]
        if self.footer:
            out.append(self.footer)
        return out

    def qr_payloads(self) -> list[str]:
        return [b.payload for b in self.blocks if isinstance(b, QrCode)]
