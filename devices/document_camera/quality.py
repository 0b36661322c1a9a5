"""Frame quality and encoding for the document camera (pure functions, no device state).

Measures, all on a grayscale copy scaled so its long edge is ``ANALYSIS_EDGE`` px (so the
figures do not depend on the camera's resolution):

* ``brightness``: mean luminance (0-255). Below ``dark_luma`` the frame is too dark
  (lights off, lens covered).
* ``contrast``: standard deviation of the luminance after a 5×5 Gaussian blur (sensor noise
  averaged away). An empty platen or a blank sheet is nearly uniform: below
  ``blank_contrast`` there is no document to photograph.
* ``sharpness``: variance of the Laplacian (Pech-Pacheco et al. 2000), the focus measure
  the face camera uses too; the sharpest of a burst is kept, and below ``min_sharpness`` the
  page is too blurred to read (moved, out of focus).

Encoding: scaled so the long edge is at most ``max_edge`` px, JPEG at ``quality``; when the
result is over ``max_bytes`` the quality steps down (to 50), then the picture shrinks by
steps of 0.8 (down to 800 px); if it still does not fit it is refused, never truncated.

Threading: none of its own; the driver calls it on its worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Bgr = NDArray[np.uint8]

ANALYSIS_EDGE = 1000
MIN_QUALITY = 50
MIN_EDGE = 800


@dataclass(frozen=True)
class Measures:
    brightness: float
    contrast: float
    sharpness: float

    def as_dict(self) -> dict[str, float]:
        return {
            "brightness": round(self.brightness, 1),
            "contrast": round(self.contrast, 1),
            "sharpness": round(self.sharpness, 1),
        }


@dataclass(frozen=True)
class Thresholds:
    dark_luma: float = 45.0
    blank_contrast: float = 8.0
    min_sharpness: float = 60.0


def _gray(frame: Bgr, edge: int) -> NDArray[np.uint8]:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    scale = edge / max(h, w)
    if scale < 1.0:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(gray, dtype=np.uint8)


def measure(frame: Bgr, edge: int = ANALYSIS_EDGE) -> Measures:
    gray = _gray(frame, edge)
    smooth = cv2.GaussianBlur(gray, (5, 5), 0)
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    return Measures(
        brightness=float(gray.mean()),
        contrast=float(smooth.std()),
        sharpness=float(lap.var()),
    )


def verdict(m: Measures, t: Thresholds) -> str | None:
    """``None`` when the frame is usable, else ``too_dark`` / ``no_document`` / ``blurred``."""
    if m.brightness < t.dark_luma:
        return "too_dark"
    if m.contrast < t.blank_contrast:
        return "no_document"
    if m.sharpness < t.min_sharpness:
        return "blurred"
    return None


def fit_edge(frame: Bgr, max_edge: int) -> Bgr:
    h, w = frame.shape[:2]
    scale = max_edge / max(h, w)
    if scale >= 1.0:
        return frame
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def encode_jpeg(
    frame: Bgr, *, quality: int, max_edge: int, max_bytes: int
) -> tuple[bytes, int, int] | None:
    """``(jpeg, width, height)`` within ``max_edge`` and ``max_bytes``; None if it cannot fit."""
    image = fit_edge(frame, max_edge)
    q = quality
    while True:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            return None
        data = buf.tobytes()
        if len(data) <= max_bytes:
            return data, int(image.shape[1]), int(image.shape[0])
        if q > MIN_QUALITY:
            q = max(MIN_QUALITY, q - 10)
            continue
        edge = max(image.shape[:2])
        if edge <= min(MIN_EDGE, max_edge):
            return None
        image = fit_edge(image, max(min(MIN_EDGE, max_edge), int(edge * 0.8)))
