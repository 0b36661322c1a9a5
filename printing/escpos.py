"""Render a :class:`~printing.document.Document` to ESC/POS bytes for 58 or 80 mm paper.

Font A is 12×24 dots; 58 mm printers print 384 dots (32 columns), 80 mm ones 576 dots
(48 columns); a CJK character takes two columns. Text is wrapped here (not by the
printer) so Chinese never breaks inside a double byte. Bytes come from
:mod:`devices.receipt.protocol` (Chinese as ``FS &`` + GB18030). The job ends with a
feed and a partial cut, which is also where the virtual printer ends the job.
"""

from __future__ import annotations

from devices.receipt import protocol as p
from printing.document import (
    Align,
    Barcode,
    Document,
    Field,
    Heading,
    Paragraph,
    QrCode,
    Rule,
    Signature,
    Spacer,
    Text,
)
from printing.layout import columns, wrap

COLUMNS = {58: 32, 80: 48}
DOTS_PER_MM = 8
#: Byte-mode capacity of QR versions 1..10 at error correction M.
_QR_CAPACITY_M = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213)

_ALIGN = {Align.LEFT: p.Align.LEFT, Align.CENTER: p.Align.CENTER, Align.RIGHT: p.Align.RIGHT}


def qr_module_size(payload: str, size_mm: float, width_mm: int) -> int:
    """Dots per QR module so the code is about ``size_mm`` wide (and fits the paper)."""
    n = len(payload.encode("utf-8"))
    version = next((v for v, cap in enumerate(_QR_CAPACITY_M, 1) if n <= cap), 15)
    modules = 17 + 4 * version + 8  # with the quiet zone
    target = min(size_mm, width_mm - 10) * DOTS_PER_MM
    return max(2, min(8, int(target // modules)))


class _Writer:
    def __init__(self, cols: int) -> None:
        self.cols = cols
        self.out = bytearray(p.INIT)

    def lines(self, text: str, *, align: Align, bold: bool = False, large: bool = False) -> None:
        width = self.cols // 2 if large else self.cols
        self.out += p.align(_ALIGN[align])
        if bold:
            self.out += p.bold(True)
        if large:
            self.out += p.char_size(2, 2)
        for line in wrap(text, width):
            self.out += p.textln(line)
        if large:
            self.out += p.char_size(1, 1)
        if bold:
            self.out += p.bold(False)


def render_escpos(doc: Document, *, width_mm: int = 80) -> bytes:
    if width_mm not in COLUMNS:
        raise ValueError("receipt paper is 58 or 80 mm wide")
    w = _Writer(COLUMNS[width_mm])
    for block in doc.blocks:
        if isinstance(block, Heading):
            w.lines(block.text, align=Align.CENTER, bold=True, large=block.level == 1)
        elif isinstance(block, Text):
            w.lines(block.text, align=block.align, bold=block.bold, large=block.large)
        elif isinstance(block, Field):
            w.lines(f"{block.label}：{block.value}", align=Align.LEFT, bold=block.emphasis)
        elif isinstance(block, Paragraph):
            w.lines(("　　" if block.indent else "") + block.text, align=Align.LEFT)
        elif isinstance(block, Rule):
            w.lines("-" * w.cols, align=Align.LEFT)
        elif isinstance(block, Spacer):
            w.out += p.feed(block.lines)
        elif isinstance(block, QrCode):
            w.out += p.align(p.Align.CENTER)
            size = qr_module_size(block.payload, block.size_mm, width_mm)
            w.out += p.qr(block.payload, size=size, ec=p.QrEc.M) + p.LF
            if block.caption:
                w.lines(block.caption, align=Align.CENTER)
        elif isinstance(block, Barcode):
            w.out += p.align(p.Align.CENTER) + p.barcode(block.data) + p.LF
        elif isinstance(block, Signature):
            label = f"{block.label}："
            w.lines(label + "_" * max(4, w.cols - columns(label)), align=Align.LEFT)
            w.lines(f"{block.date_label}：______年____月____日", align=Align.LEFT)
    if doc.footer:
        w.out += p.feed(1)
        w.lines(doc.footer, align=Align.CENTER)
    w.out += p.align(p.Align.LEFT) + p.cut(lines=4)
    return bytes(w.out)
