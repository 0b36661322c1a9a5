"""Per-frame face metrics from landmarks: EAR, MAR, nose offset, 3-D parallax, pose, light.

Input: :class:`devices.camera.landmarks.Face` values (478 MediaPipe mesh points in pixels)
and the BGR frame. Output: :class:`devices.camera.liveness.FrameMetrics`. Formulas (mesh
indices as in MediaPipe's canonical face model):

* EAR (eye aspect ratio) = (|p2−p6| + |p3−p5|) / (2·|p1−p4|) on [33,160,158,133,153,144]
  (the citizen's right eye) and [362,385,387,263,373,380] (left eye).
* MAR (mouth) = |13−14| / |78−308| (inner lips over mouth width).
* NR (nose offset) = (nose tip 1 − eye-corner midpoint).x / IOD, IOD = |33−263|.
  Positive is the citizen's own left (the image's right in the non-mirrored frame).
* Parallax: the homography that maps the reference frame's outer eye corners and mouth
  corners [33,263,61,291] onto the current frame's; the nose tip's distance from where
  that homography puts it, in IOD. A flat photo moves as one plane, so every point obeys
  one homography and the parallax stays near 0 however it is tilted; a real head turn
  moves the nose (in front of that plane) off it. This is what rejects a tilted photo
  that reads as ~20° yaw.
* Yaw/pitch from MediaPipe's facial transformation matrix (degrees; yaw positive to the
  citizen's left).
* Light: mean luminance of the face box within ``LUMA_RANGE`` and < 2 % of it clipped.
* Sharpness (for the best frame): variance of the Laplacian of the face crop resized to
  128×128 — a standard focus measure (Pech-Pacheco et al. 2000), cheap, and comparable
  between frames because the crop size is fixed.

Measured with the real model on the synthetic subject (``devices.camera.synthetic``,
``tests/devices/camera/test_real_model.py``): a 3-D turn of 28° gives ΔNR ≈ 0.20,
parallax ≈ 0.25, yaw ≈ 19°; the flat photo tilted ±20–35° gives parallax ≤ 0.03, ΔNR ≤ 0.04
and a matrix yaw of only 3–5° here (the research note's "tilted photo reads ~20° yaw" was
not reproduced with this renderer; the parallax rule is kept because yaw alone must never
decide); a painted blink takes EAR 0.32 → 0.10.

The reference for parallax is kept by :class:`MetricExtractor`: while the machine is at
its gate (the citizen holds still, frontal) each frame becomes the reference; afterwards it
is frozen, so each turn is measured against the frontal pose.

Threading: an extractor belongs to one attempt on one thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.camera.landmarks import Face, Points
from devices.camera.liveness import FrameMetrics

RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
PLANE = (33, 263, 61, 291)
NOSE = 1
LUMA_RANGE = (60.0, 200.0)
MAX_CLIPPED = 0.02

Bgr = NDArray[np.uint8]


def ear(points: Points, idx: tuple[int, ...]) -> float:
    p = points[list(idx), :2]
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 0:
        return 0.0
    return float(np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * width)


def mar(points: Points) -> float:
    width = float(np.linalg.norm(points[78, :2] - points[308, :2]))
    return float(np.linalg.norm(points[13, :2] - points[14, :2])) / width if width > 0 else 0.0


def iod(points: Points) -> float:
    return float(np.linalg.norm(points[33, :2] - points[263, :2]))


def nose_offset(points: Points) -> float:
    d = iod(points)
    mid = (points[33, 0] + points[263, 0]) / 2
    return float(points[NOSE, 0] - mid) / d if d > 0 else 0.0


def parallax(reference: Points, current: Points) -> float:
    """Nose-tip error (in IOD) of the 4-point plane homography from reference to current."""
    src = reference[list(PLANE), :2].astype(np.float32)
    dst = current[list(PLANE), :2].astype(np.float32)
    try:
        h = cv2.getPerspectiveTransform(src, dst)
    except cv2.error:
        return 0.0
    nose = np.array([reference[NOSE, 0], reference[NOSE, 1], 1.0])
    q = h @ nose
    if abs(q[2]) < 1e-9:
        return 0.0
    pred = q[:2] / q[2]
    d = iod(current)
    return float(np.linalg.norm(pred - current[NOSE, :2])) / d if d > 0 else 0.0


def pose(matrix: NDArray[np.float64] | None) -> tuple[float, float]:
    """(yaw, pitch) in degrees from the facial transformation matrix; yaw + = citizen's left."""
    if matrix is None:
        return 0.0, 0.0
    r = matrix[:3, :3]
    yaw = math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    return yaw, pitch


def face_box(points: Points) -> tuple[float, float, float, float]:
    x0, y0 = points[:, 0].min(), points[:, 1].min()
    x1, y1 = points[:, 0].max(), points[:, 1].max()
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _crop(gray: NDArray[np.uint8], box: tuple[float, float, float, float]) -> NDArray[np.uint8]:
    h, w = gray.shape[:2]
    x, y, bw, bh = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, int(x + bw)), min(h, int(y + bh))
    return gray[y0:y1, x0:x1]


def well_lit(gray: NDArray[np.uint8], box: tuple[float, float, float, float]) -> bool:
    crop = _crop(gray, box)
    if crop.size == 0:
        return False
    mean = float(crop.mean())
    clipped = float(np.count_nonzero((crop <= 2) | (crop >= 253))) / crop.size
    return LUMA_RANGE[0] <= mean <= LUMA_RANGE[1] and clipped < MAX_CLIPPED


def sharpness(gray: NDArray[np.uint8], box: tuple[float, float, float, float]) -> float:
    crop = _crop(gray, box)
    if crop.size == 0:
        return 0.0
    small = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(small, cv2.CV_64F).var())


def clipped_by_edge(box: tuple[float, float, float, float], w: int, h: int) -> bool:
    x, y, bw, bh = box
    return x < 1 or y < 1 or x + bw > w - 1 or y + bh > h - 1


@dataclass
class Measured:
    """Metrics for the machine plus what best-frame selection needs from the same frame."""

    metrics: FrameMetrics
    face: Face | None
    gray: NDArray[np.uint8]


class MetricExtractor:
    """Faces → :class:`FrameMetrics`, keeping the frontal reference for parallax."""

    def __init__(self) -> None:
        self.reference: Points | None = None

    def measure(self, frame: Bgr, faces: list[Face], t: float, *, at_gate: bool) -> Measured:
        h, w = frame.shape[:2]
        gray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        if len(faces) != 1:
            box = face_box(faces[0].points) if faces else None
            return Measured(FrameMetrics(t, len(faces), w, h, box=box), None, gray)
        face = faces[0]
        pts = face.points
        yaw, pitch = pose(face.matrix)
        if at_gate or self.reference is None:
            self.reference = pts
        box = face_box(pts)
        m = FrameMetrics(
            t=t,
            faces=1,
            frame_w=w,
            frame_h=h,
            box=box,
            ear_left=ear(pts, LEFT_EYE),
            ear_right=ear(pts, RIGHT_EYE),
            mar=mar(pts),
            nr=nose_offset(pts),
            parallax=parallax(self.reference, pts),
            yaw=yaw,
            pitch=pitch,
            well_lit=well_lit(gray, box),
        )
        return Measured(m, face, gray)
