"""PNG rendering of an interpreted ESC/POS job (the virtual printer's paper), with Pillow.

Each element of a :class:`~devices.receipt.interpreter.Job` becomes a strip — text in the
CJK font (WQY Micro Hei, the same TTC the PDFs embed), QR codes drawn with ``qrcode``,
raster images as received, barcodes as a labelled placeholder (their data is in the JSON;
drawing every symbology faithfully is not the emulator's job), cuts as a dashed line —
and the strips are stacked on a paper-width canvas (576 dots = 80 mm, 384 = 58 mm).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from devices.receipt.interpreter import Job

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
BASE_FONT_PX = 24


@lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, px, index=0)
    return ImageFont.load_default()


def _place(canvas_w: int, strip: Image.Image, align: str) -> tuple[int, int]:
    free = max(0, canvas_w - strip.width)
    x = {"center": free // 2, "right": free}.get(align, 0)
    return x, 0


def _text_strip(e: dict[str, Any], width: int) -> Image.Image:
    w, h = int(e.get("width", 1)), int(e.get("height", 1))
    px = BASE_FONT_PX * max(1, min(h, 8))
    font = _font(px)
    text = str(e["text"])
    if not text:
        return Image.new("L", (width, px + 6), 255)
    box = font.getbbox(text)
    tw = max(1, int(box[2]) + 2)
    img = Image.new("L", (tw, px + 6), 255)
    draw = ImageDraw.Draw(img)
    draw.text((0, 2), text, font=font, fill=0, stroke_width=1 if e.get("bold") else 0)
    if e.get("underline"):
        draw.line([(0, px + 4), (tw, px + 4)], fill=0, width=2)
    if w != h:
        img = img.resize((max(1, tw * w // max(1, h)), img.height))
    if img.width > width:  # a real printer wraps; the picture scales down to stay readable
        img = img.resize((width, max(1, img.height * width // img.width)))
    return img


def _qr_strip(data: str) -> Image.Image:
    import qrcode  # type: ignore[import-untyped]  # no stubs published

    qr = qrcode.QRCode(border=2, box_size=4)
    qr.add_data(data)
    qr.make(fit=True)
    img: Image.Image = qr.make_image(fill_color="black", back_color="white").get_image()
    return img.convert("L")


def _barcode_strip(e: dict[str, Any], width: int) -> Image.Image:
    img = Image.new("L", (min(width, 360), 90), 255)
    draw = ImageDraw.Draw(img)
    x = 4
    for ch in str(e["data"]).encode("utf-8"):
        for bit in range(8):
            bar = 1 + (ch >> bit & 1)
            if bit % 2 == 0 and x + bar < img.width - 4:
                draw.rectangle([x, 2, x + bar - 1, 60], fill=0)
            x += bar + 1
    draw.text((4, 64), f"{e['symbology']} {e['data']}", font=_font(18), fill=0)
    return img


def _image_strip(e: dict[str, Any]) -> Image.Image:
    w, h = max(1, int(e["width"])), max(1, int(e["height"]))
    need = ((w + 7) // 8) * h
    bits = bytes(e.get("bits", b""))[:need].ljust(need, b"\x00")
    return Image.frombytes("1", (w, h), bits, "raw", "1;I").convert("L")


def _cut_strip(width: int) -> Image.Image:
    img = Image.new("L", (width, 16), 255)
    draw = ImageDraw.Draw(img)
    for x in range(0, width, 12):
        draw.line([(x, 8), (x + 6, 8)], fill=0, width=2)
    return img


def render_job(job: Job, width: int = 576) -> Image.Image:
    strips: list[tuple[Image.Image, str]] = []
    for e in job.elements:
        kind = e["type"]
        if kind == "text":
            strips.append((_text_strip(e, width), str(e.get("align", "left"))))
        elif kind == "qr":
            strips.append((_qr_strip(str(e["data"])), str(e.get("align", "left"))))
        elif kind == "barcode":
            strips.append((_barcode_strip(e, width), str(e.get("align", "left"))))
        elif kind == "image":
            strips.append((_image_strip(e), str(e.get("align", "left"))))
        elif kind == "cut":
            strips.append((_cut_strip(width), "left"))
    height = sum(s.height for s, _ in strips) + 16
    canvas = Image.new("L", (width, max(height, 32)), 255)
    y = 8
    for strip, align in strips:
        img = strip
        if img.width > width:
            img = img.resize((width, max(1, img.height * width // img.width)))
        x, _ = _place(width, img, align)
        canvas.paste(img, (x, y))
        y += img.height
    return canvas


def write_png(job: Job, path: Path, width: int = 576) -> None:
    render_job(job, width).save(path, format="PNG", optimize=False)
