"""PDF rendition of an e-licence (电子证照), A5 landscape, with the CJK font embedded.

reportlab's built-in CID font ``STSong-Light`` is *not* embedded (a viewer without a CJK
font shows boxes), so the WQY Micro Hei TTC (Debian ``fonts-wqy-microhei``, installed by
``scripts/setup.sh``) is registered as a TrueType font and subset-embedded. Dependency:
reportlab (well kept, pure Python, the usual PDF generator in Python).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_NAME = "WQYMicroHei"
_font_lock = threading.Lock()


class PdfUnavailableError(RuntimeError):
    """The CJK font is missing, so no readable PDF can be made."""


def _register_font(path: Path) -> None:
    with _font_lock:
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return
        if not path.is_file():
            raise PdfUnavailableError(f"CJK font not found: {path} (install fonts-wqy-microhei)")
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))


def render_licence(licence: dict[str, Any], font_path: Path = FONT_PATH) -> bytes:
    """Render one licence row (see :data:`sandbox.db.licences`) to PDF bytes."""
    _register_font(font_path)
    buf = io.BytesIO()
    width, height = landscape(A5)
    pdf = canvas.Canvas(buf, pagesize=(width, height), invariant=True)
    pdf.setTitle(f"{licence['type_name']} {licence['id']}")
    pdf.setAuthor("Quanban sandbox platform")
    pdf.setStrokeColor(HexColor("#b22222"))
    pdf.setLineWidth(2)
    pdf.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    pdf.setFont(FONT_NAME, 22)
    pdf.drawCentredString(width / 2, height - 30 * mm, str(licence["type_name"]))
    pdf.setFont(FONT_NAME, 12)
    rows = [
        ("持证人", licence["holder_name"]),
        ("证照编号", licence["number"]),
        ("发证机关", licence["issuer"]),
        ("有效期起", licence["valid_from"]),
        ("有效期至", licence["valid_to"] or "长期"),
        ("证照标识", licence["id"]),
    ]
    y = height - 48 * mm
    for label, value in rows:
        pdf.drawString(25 * mm, y, f"{label}：")
        pdf.drawString(55 * mm, y, str(value))
        y -= 10 * mm
    pdf.setFont(FONT_NAME, 8)
    pdf.setFillColor(HexColor("#888888"))
    pdf.drawString(15 * mm, 14 * mm, "样例数据 — 沙箱平台生成，仅供测试（synthetic sandbox data）")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def render_document(doc: dict[str, Any], font_path: Path = FONT_PATH) -> bytes:
    """Render an issued certificate (see :data:`sandbox.db.documents`) as one A4 page."""
    import json

    _register_font(font_path)
    buf = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    pdf.setTitle(f"{doc['title']} {doc['ref']}")
    pdf.setAuthor("Quanban sandbox platform")
    pdf.setFont(FONT_NAME, 20)
    pdf.drawCentredString(width / 2, height - 35 * mm, str(doc["title"]))
    pdf.setFont(FONT_NAME, 12)
    y = height - 60 * mm
    for label, value in json.loads(doc["rows"]):
        pdf.drawString(25 * mm, y, f"{label}：")
        pdf.drawString(70 * mm, y, str(value))
        y -= 10 * mm
    pdf.drawString(25 * mm, y - 10 * mm, f"文书编号：{doc['ref']}")
    pdf.drawString(25 * mm, y - 20 * mm, f"开具时间：{doc['issued_at']}")
    pdf.setFont(FONT_NAME, 8)
    pdf.setFillColor(HexColor("#888888"))
    pdf.drawString(15 * mm, 14 * mm, "样例数据 — 沙箱平台生成，仅供测试（synthetic sandbox data）")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
