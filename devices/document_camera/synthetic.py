"""A synthetic paper material for the emulated document camera: an A4 page with Chinese text.

The page is a made-up sample (样例) of a household-registration certificate: every name and
number on it is invented and marked as such, so no real person's data is involved. Text is
drawn with Pillow in the CJK TrueType font the project uses for its PDFs (passed in by the
caller: :func:`printing.pdf.font_path`); without a font the lines are drawn as rules, which
keeps the page's structure (contrast, sharp edges) for tests.

Pure function of its arguments; returns a BGR array.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Bgr = NDArray[np.uint8]

#: A4 at 150 dpi.
A4_150DPI = (1240, 1754)

LINES = (
    ("户籍证明（样例）", 64),
    ("兹证明以下人员户籍登记于本辖区：", 36),
    ("姓名：样例人员甲　性别：女　民族：汉", 36),
    ("出生日期：2000年1月1日", 36),
    ("户籍地址：山东省济南市示例区演示路1号", 36),
    ("公民身份号码：000000000000000000（演示用）", 36),
    ("与户主关系：本人", 36),
    ("本证明仅供自助终端演示与测试使用，非真实证件。", 32),
    ("SAMPLE · 演示材料 · NOT A REAL DOCUMENT", 30),
    ("济南市示例区派出所（样例）", 36),
    ("2026年1月1日", 36),
)


def render_page(font: Path | None, size: tuple[int, int] = A4_150DPI) -> Bgr:
    """The sample page at ``size`` (width, height) in BGR."""
    w, h = size
    scale = w / A4_150DPI[0]
    margin = int(110 * scale)
    if font is None:
        page = np.full((h, w, 3), 250, dtype=np.uint8)
        y = margin + int(60 * scale)
        for _text, px in LINES:
            for k in range(0, w - 2 * margin, int(px * scale * 1.1)):
                x = margin + k
                cv2.rectangle(page, (x, y), (x + int(px * scale), y + int(px * scale)), 20, 2)
            y += int(px * scale * 2.2)
    else:
        from PIL import Image, ImageDraw, ImageFont

        img = Image.new("RGB", (w, h), (250, 250, 248))
        draw = ImageDraw.Draw(img)
        y = margin + int(40 * scale)
        for i, (text, px) in enumerate(LINES):
            f = ImageFont.truetype(str(font), max(8, int(px * scale)))
            if i == 0:
                tw = draw.textlength(text, font=f)
                draw.text(((w - tw) / 2, y), text, font=f, fill=(15, 15, 15))
            elif i >= len(LINES) - 2:
                tw = draw.textlength(text, font=f)
                draw.text((w - margin - tw, y), text, font=f, fill=(15, 15, 15))
            else:
                draw.text((margin, y), text, font=f, fill=(15, 15, 15))
            y += int(px * scale * 2.3)
        page = np.asarray(
            cv2.cvtColor(np.asarray(img, dtype=np.uint8), cv2.COLOR_RGB2BGR), np.uint8
        )
    # a border, a table rule and a red round seal, as certificates have
    cv2.rectangle(
        page, (margin // 2, margin // 2), (w - margin // 2, h - margin // 2), (40, 40, 40), 3
    )
    rule = margin + int(40 * scale) + int(64 * scale * 1.5)
    cv2.line(page, (margin, rule), (w - margin, rule), (60, 60, 60), 2)
    centre = (w - margin - int(170 * scale), h - margin - int(330 * scale))
    cv2.circle(page, centre, int(120 * scale), (40, 40, 200), max(2, int(6 * scale)))
    cv2.drawMarker(
        page, centre, (40, 40, 200), cv2.MARKER_STAR, int(80 * scale), max(2, int(5 * scale))
    )
    return np.asarray(page, dtype=np.uint8)


def empty_platen(size: tuple[int, int] = A4_150DPI, seed: int = 0) -> Bgr:
    """What the camera sees with nothing on it: a dark-grey mat with faint sensor noise."""
    w, h = size
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 2.0, (h, w, 1))
    mat = np.clip(np.full((h, w, 3), 92.0) + noise, 0, 255)
    return np.asarray(mat, dtype=np.uint8)
