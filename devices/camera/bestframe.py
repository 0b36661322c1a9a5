"""Best-frame selection for the platform's 1:1 match, and its JPEG encoding in memory.

Only frames from inside the attempt count (after the first prompt, before the decision:
``LivenessMachine.in_session``), so the frame sent is one of the frames the liveness
decision covered. A frame qualifies when: exactly one face; frontal (|yaw| < 10°,
|pitch| < 15°); both eyes open (EAR > 0.85·EAR₀ — painted or real closed eyes raise the
Laplacian sharpness, so this gate is required); mouth closed (MAR < 1.5·MAR₀ + 0.05);
face box not clipped by the frame edge; well exposed (``metrics.well_lit``).
Among those, the score is sharpness × frontalness: the variance of the Laplacian of the
face crop at a fixed 128×128 (a standard, cheap focus measure; fixed size so frames
compare) times (1 − |NR − NR₀| / 0.15).

Memory and personal data: only the current best frame is kept (one copy); the JPEG is
produced once, in memory, by :meth:`BestFrame.jpeg`; nothing is written to disk or logged.
:meth:`BestFrameSelector.wipe` drops it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.camera.liveness import FrameMetrics
from devices.camera.metrics import clipped_by_edge, sharpness

Bgr = NDArray[np.uint8]


@dataclass(frozen=True)
class BestFrame:
    frame: Bgr
    score: float
    sharpness: float
    t: float

    def jpeg(self, quality: int = 90) -> bytes:
        ok, buf = cv2.imencode(".jpg", self.frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return bytes(buf.tobytes())


def qualifies(m: FrameMetrics, ear0: float, mar0: float) -> bool:
    if m.faces != 1 or m.box is None or not m.well_lit:
        return False
    if abs(m.yaw) >= 10 or abs(m.pitch) >= 15:
        return False
    if min(m.ear_left, m.ear_right) <= 0.85 * ear0:
        return False
    if m.mar >= 1.5 * mar0 + 0.05:
        return False
    return not clipped_by_edge(m.box, m.frame_w, m.frame_h)


class BestFrameSelector:
    def __init__(self) -> None:
        self.best: BestFrame | None = None
        self.considered = 0

    def offer(
        self,
        frame: Bgr,
        gray: NDArray[np.uint8],
        m: FrameMetrics,
        *,
        ear0: float,
        mar0: float,
        nr0: float,
    ) -> bool:
        """Consider one in-attempt frame; True when it became the best so far."""
        if not qualifies(m, ear0, mar0) or m.box is None:
            return False
        self.considered += 1
        sharp = sharpness(gray, m.box)
        frontal = max(0.0, 1.0 - abs(m.nr - nr0) / 0.15)
        score = sharp * frontal
        if self.best is not None and score <= self.best.score:
            return False
        self.best = BestFrame(frame.copy(), score, sharp, m.t)
        return True

    def wipe(self) -> None:
        self.best = None
