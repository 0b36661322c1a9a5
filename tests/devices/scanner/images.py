"""Synthetic test images of codes: QR codes on 640×480 frames, made hard on purpose.

Everything is generated (qrcode + numpy + OpenCV); no photo of a real code is used. Shared
by the tests and ``bench/scanning.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import qrcode  # type: ignore[import-untyped,unused-ignore]  # no stubs installed
from numpy.typing import NDArray

Image = NDArray[np.uint8]
W, H = 640, 480


def qr_modules(data: bytes | str, box: int = 4, border: int = 4) -> Image:
    """A QR code as a gray image (0 = dark, 255 = light), ``box`` pixels a module."""
    qr = qrcode.QRCode(border=border, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = np.array(qr.get_matrix(), dtype=bool)
    img = np.where(matrix, 0, 255).astype(np.uint8)
    return np.kron(img, np.ones((box, box), dtype=np.uint8)).astype(np.uint8)


@dataclass(frozen=True)
class Hardness:
    box: int = 4  # pixels per module
    angle: float = 0.0  # degrees
    blur: float = 0.0  # Gaussian sigma in pixels
    noise: float = 0.0  # Gaussian noise sigma (0-255 scale)
    clutter: bool = False  # random rectangles and lines behind and around the code
    contrast: float = 1.0  # 1 = black on white; 0.4 = dark grey on light grey
    at: tuple[float, float] = (0.5, 0.5)  # centre of the code, fractions of the frame


def frame_with_code(data: bytes | str | None, hard: Hardness, seed: int = 0) -> Image:
    """A BGR 640×480 frame showing ``data`` as a QR code (or no code when None)."""
    rng = np.random.default_rng(seed)
    frame: Any = np.full((H, W), 200, dtype=np.float32)
    frame += np.linspace(-30, 30, W, dtype=np.float32)[None, :]  # uneven lighting
    if hard.clutter:
        for _ in range(25):
            x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
            w, h = int(rng.integers(10, 120)), int(rng.integers(10, 120))
            cv2.rectangle(frame, (x, y), (x + w, y + h), float(rng.integers(0, 255)), -1)
        for _ in range(15):
            p1 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            p2 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            cv2.line(frame, p1, p2, float(rng.integers(0, 255)), int(rng.integers(1, 4)))
    if data is not None:
        code: Any = qr_modules(data, hard.box).astype(np.float32)
        lo, hi = 127.5 - 127.5 * hard.contrast, 127.5 + 127.5 * hard.contrast
        code = lo + (code / 255.0) * (hi - lo)
        if hard.angle:
            side = int(code.shape[0] * 1.5)
            pad = (side - code.shape[0]) // 2
            code = cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=hi)
            m = cv2.getRotationMatrix2D((side / 2, side / 2), hard.angle, 1.0)
            code = cv2.warpAffine(code, m, (side, side), borderValue=hi)
        ch, cw = code.shape
        cx, cy = int(hard.at[0] * W), int(hard.at[1] * H)
        x0, y0 = max(0, cx - cw // 2), max(0, cy - ch // 2)
        x1, y1 = min(W, x0 + cw), min(H, y0 + ch)
        frame[y0:y1, x0:x1] = code[: y1 - y0, : x1 - x0]
    if hard.blur:
        frame = cv2.GaussianBlur(frame, (0, 0), hard.blur)
    if hard.noise:
        frame += rng.normal(0, hard.noise, frame.shape).astype(np.float32)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def hard_set(n: int = 60, seed: int = 7) -> list[tuple[str, Image]]:
    """``n`` frames with a code each, mixing rotation, small size, blur, noise, clutter."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        text = f"https://zwfw.example.cn/q/cases/JN20261128{i:05d}"
        hard = Hardness(
            box=int(rng.choice([2, 3, 4, 5])),
            angle=float(rng.uniform(0, 360)),
            blur=float(rng.choice([0.0, 0.8, 1.2, 1.6])),
            noise=float(rng.choice([0.0, 10.0, 20.0, 30.0])),
            clutter=bool(rng.integers(0, 2)),
            contrast=float(rng.choice([1.0, 0.7, 0.5])),
            at=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.35, 0.65))),
        )
        out.append((text, frame_with_code(text, hard, seed=i)))
    return out
