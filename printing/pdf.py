"""Render a :class:`~printing.document.Document` to PDF with reportlab: A4 or receipt width.

Chinese uses an **embedded** TrueType font — WQY Micro Hei from ``fonts-wqy-microhei``
(subfont 0 of the TTC), or the file named by ``KIOSK_CJK_FONT``. reportlab's built-in CID
font (STSong-Light) is not embedded and shows as blanks or boxes on viewers without
poppler-data (STACK.md); OpenType/CFF fonts such as Noto CJK are rejected by reportlab.
reportlab subsets the TTF and writes a ToUnicode map, so the text can be extracted
(``pdftotext``) — the tests check exactly that. QR codes (``qrcode``'s encoder) and
barcodes are drawn as vectors (no bitmap).

Layout: blocks become lines of fixed height, laid top to bottom; A4 breaks pages,
receipt-width PDFs are one page as tall as their content. The font is registered once
per process (parsing the TTC is the slow part); :func:`warm_up` does it ahead of time.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

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
from printing.layout import wrap

FONT_NAME = "QuanbanCJK"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
_font_lock = threading.Lock()


class FontMissingError(RuntimeError):
    """No CJK TrueType font: install fonts-wqy-microhei or set KIOSK_CJK_FONT."""


def font_path() -> Path:
    env = os.environ.get("KIOSK_CJK_FONT")
    for candidate in ([env] if env else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissingError(
        "no CJK TrueType font found (install fonts-wqy-microhei or set KIOSK_CJK_FONT)"
    )


def qr_matrix(payload: str) -> list[list[bool]]:
    """QR modules (error correction M, best mask) without the quiet zone.

    The ``qrcode`` package rather than reportlab's own encoder: same output, half the time.
    """
    import qrcode  # type: ignore[import-untyped]  # no stubs published

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(payload)
    qr.make(fit=True)
    return [[bool(v) for v in row] for row in qr.get_matrix()]


def warm_up() -> None:
    """Register the embedded CJK font (once per process)."""
    with _font_lock:
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return
        path = font_path()
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))


@dataclass(frozen=True)
class PageSpec:
    width: float
    height: float | None  # None: as tall as the content (receipt roll)
    margin: float
    body: float  # font size, pt
    heading: float

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin


PAGES: dict[str, PageSpec] = {
    "a4": PageSpec(A4[0], A4[1], 20 * mm, 11, 20),
    "receipt80": PageSpec(80 * mm, None, 4 * mm, 8.5, 14),
    "receipt58": PageSpec(58 * mm, None, 3 * mm, 7, 11),
}

Draw = Callable[[Canvas, float, float], None]  # (canvas, x_left, y_top)


@dataclass
class _Line:
    height: float
    draw: Draw


class _Layout:
    def __init__(self, spec: PageSpec) -> None:
        self.spec = spec
        self.lines: list[_Line] = []

    def measure(self, size: float) -> Callable[[str], float]:
        return lambda s: pdfmetrics.stringWidth(s, FONT_NAME, size)

    def text(
        self, text: str, *, size: float, align: Align = Align.LEFT, bold: bool = False
    ) -> None:
        width = self.spec.content_width
        for line in wrap(text, width, self.measure(size)):
            self.lines.append(_Line(size * 1.5, self._text_draw(line, size, align, bold)))

    def _text_draw(self, line: str, size: float, align: Align, bold: bool) -> Draw:
        width = self.spec.content_width

        def draw(c: Canvas, x: float, y: float) -> None:
            t = c.beginText()
            t.setFont(FONT_NAME, size)
            if bold:  # the TTC has no bold face: fill and stroke the glyphs (faux bold)
                t.setTextRenderMode(2)
                c.setLineWidth(size / 30)
            w = pdfmetrics.stringWidth(line, FONT_NAME, size)
            dx = {Align.CENTER: (width - w) / 2, Align.RIGHT: width - w}.get(align, 0.0)
            t.setTextOrigin(x + dx, y - size * 1.15)
            t.textOut(line)
            c.drawText(t)

        return draw

    def rule(self) -> None:
        width = self.spec.content_width

        def draw(c: Canvas, x: float, y: float) -> None:
            c.setLineWidth(0.5)
            c.line(x, y - 4, x + width, y - 4)

        self.lines.append(_Line(8, draw))

    def space(self, height: float) -> None:
        self.lines.append(_Line(height, lambda c, x, y: None))

    def qr(self, payload: str, size_mm: float) -> None:
        side = min(size_mm * mm, self.spec.content_width)
        width = self.spec.content_width

        matrix = qr_matrix(payload)
        count = len(matrix)
        # Horizontal runs of dark modules: one rectangle per run keeps the page stream small.
        runs: list[tuple[int, int, int]] = []
        for r, row in enumerate(matrix):
            col = 0
            while col < count:
                if row[col]:
                    end = col
                    while end < count and row[end]:
                        end += 1
                    runs.append((r, col, end - col))
                    col = end
                else:
                    col += 1
        module = side / (count + 4)  # with a two-module quiet zone each side

        def draw(c: Canvas, x: float, y: float) -> None:
            left = x + (width - side) / 2 + 2 * module
            top = y - 2 * module
            c.setFillColorRGB(0, 0, 0)
            path = c.beginPath()
            for r, col, n in runs:
                path.rect(left + col * module, top - (r + 1) * module, n * module, module)
            c.drawPath(path, stroke=0, fill=1)

        self.lines.append(_Line(side + 2, draw))

    def barcode(self, data: str, size: float) -> None:
        width = self.spec.content_width
        bar_h = 12 * mm if self.spec.height else 9 * mm

        def draw(c: Canvas, x: float, y: float) -> None:
            code = Code128(data, barHeight=bar_h, barWidth=0.8, humanReadable=False, quiet=False)
            bw = min(code.width, width)
            code.drawOn(c, x + (width - bw) / 2, y - bar_h)

        self.lines.append(_Line(bar_h + 2, draw))
        self.text(data, size=size * 0.9, align=Align.CENTER)


def _layout(doc: Document, spec: PageSpec) -> _Layout:
    lay = _Layout(spec)
    body = spec.body
    for block in doc.blocks:
        if isinstance(block, Heading):
            size = spec.heading if block.level == 1 else body * 1.2
            lay.text(block.text, size=size, align=Align.CENTER, bold=True)
        elif isinstance(block, Text):
            size = body * 1.8 if block.large else body
            lay.text(block.text, size=size, align=block.align, bold=block.bold)
        elif isinstance(block, Field):
            lay.text(f"{block.label}：{block.value}", size=body, bold=block.emphasis)
        elif isinstance(block, Paragraph):
            lay.text(("　　" if block.indent else "") + block.text, size=body)
        elif isinstance(block, Rule):
            lay.rule()
        elif isinstance(block, Spacer):
            lay.space(body * 1.5 * block.lines)
        elif isinstance(block, QrCode):
            lay.qr(block.payload, block.size_mm)
            if block.caption:
                lay.text(block.caption, size=body * 0.9, align=Align.CENTER)
        elif isinstance(block, Barcode):
            lay.barcode(block.data, body)
        elif isinstance(block, Signature):
            lay.space(body)
            lay.text(f"{block.label}：____________________", size=body)
            lay.text(f"{block.date_label}：______年____月____日", size=body)
    if doc.footer:
        lay.space(body)
        lay.text(doc.footer, size=body * 0.85, align=Align.CENTER)
    return lay


def render_pdf(doc: Document, *, page: str = "a4") -> bytes:
    """The document as PDF bytes; ``page`` is ``a4``, ``receipt80`` or ``receipt58``."""
    spec = PAGES.get(page)
    if spec is None:
        raise ValueError(f"unknown page {page!r} (known: {', '.join(PAGES)})")
    warm_up()
    lay = _layout(doc, spec)
    total = sum(line.height for line in lay.lines)
    height = spec.height or total + 2 * spec.margin
    buf = io.BytesIO()
    c = Canvas(
        buf,
        pagesize=(spec.width, height),
        pageCompression=1,
        invariant=True,  # reproducible bytes: no timestamp or random id
        initialFontName=FONT_NAME,  # type: ignore[arg-type]  # stub says float; str is right
        initialFontSize=spec.body,
    )
    c.setTitle(doc.title)
    c.setCreator("Quanban Kiosk")
    c.setSubject(doc.kind)
    y = height - spec.margin
    for line in lay.lines:
        if spec.height is not None and y - line.height < spec.margin:
            c.showPage()
            y = height - spec.margin
        line.draw(c, spec.margin, y)
        y -= line.height
    c.showPage()
    c.save()
    return buf.getvalue()
