"""Synthetic camera sequences from a real face photo, for tests, the bench and demos.

The photo is ``skimage.data.astronaut()`` (a public-domain NASA portrait of Eileen
Collins shipped inside scikit-image — the reason scikit-image is in the ``face`` extra):
a real face, so the real landmark model runs on it, and no personal data of anyone here.
It is cropped and scaled into a 640×480 frame with a ~200 px wide face, like a citizen
standing at the kiosk. Every frame gets fresh sensor noise.

What each renderer does:

* :meth:`Renderer.still` — the photo held still (a printed photo in front of the lens).
* :meth:`Renderer.jittered` — the photo shaken a little (hand-held print): small random
  shifts, rotations and scale.
* :meth:`Renderer.tilted` — the photo as a flat card rotated about its vertical axis by an
  angle (pinhole camera, f = 600 px): the attack that reads as yaw but has no depth.
* :meth:`Renderer.blink` — eyes painted shut (lid-coloured fill and a lash line over the
  eye contour from the landmarks): a rendered blink.
* :meth:`Renderer.mouth` — the jaw dropped (landmarks below the lips moved down, the
  image warped to follow, the inner-lip polygon filled dark): a crude rendered mouth
  opening that the model reads as MAR 0.17 → 0.67.
* :meth:`Renderer.turned` — a 3-D head turn: the frontal landmarks with MediaPipe's
  depth are rotated about a vertical axis and the image is warped piecewise-linearly
  from the old to the new landmark positions (background fixed). The nose moves off the
  plane of the eyes and mouth: real parallax.

What they prove and what they cannot: they prove the wiring (camera → model → metrics →
machine), the sign conventions, that the real model responds to lid closure and yaw, that
the plane test separates a flat tilt from a depth turn, and that stills and jitter never
pass. They cannot prove detection rates on real people (real eyelid dynamics, glasses,
glare, narrow eyes, children, the elderly), robustness to lighting, noise and motion
blur, demographic fairness, or resistance to real attacks: curved prints, phone/tablet
video replay, eye-hole cut-outs, masks, deepfakes or virtual-camera injection. The 3-D
turn reuses the model's own depth estimate, so it partly agrees with the model by
construction; thresholds must be recalibrated with real volunteers and attacks.

Threading: a renderer is plain computation; use it on one thread.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.camera.landmarks import FaceLandmarker, Points

Bgr = NDArray[np.uint8]

RIGHT_EYE_RING = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE_RING = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
#: inner lip contours from corner 78 to corner 308 (upper, lower)
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
#: Crop of the 512×512 astronaut photo (x0, y0, x1, y1) that puts the face mid-frame.
_CROP = (81, 17, 369, 233)
SIZE = (640, 480)


def astronaut_frame() -> Bgr:
    """The base 640×480 BGR frame."""
    from skimage import data

    rgb = np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    x0, y0, x1, y1 = _CROP
    crop = cv2.resize(rgb[y0:y1, x0:x1], SIZE, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(crop[:, :, ::-1])


class Renderer:
    """Frames of one synthetic subject (see the module docstring)."""

    def __init__(self, seed: int = 0, landmarker: FaceLandmarker | None = None) -> None:
        self.base = astronaut_frame()
        self.rng = np.random.default_rng(seed)
        own = landmarker is None
        lm = landmarker or FaceLandmarker()
        try:
            faces = lm.detect(self.base[:, :, ::-1].copy(), 0.0)
        finally:
            if own:
                lm.close()
        if len(faces) != 1:
            raise RuntimeError(f"the base photo shows {len(faces)} faces, expected 1")
        self.points: Points = faces[0].points
        self._turns: dict[float, Bgr] = {}
        self._mouths: dict[float, Bgr] = {}

    def noisy(self, frame: Bgr, sigma: float = 2.0) -> Bgr:
        noise = self.rng.normal(0.0, sigma, frame.shape)
        return np.clip(frame.astype(np.float64) + noise, 0, 255).astype(np.uint8)

    def still(self) -> Bgr:
        return self.noisy(self.base)

    def jittered(self, shift: float = 4.0, angle: float = 2.0, scale: float = 0.02) -> Bgr:
        w, h = SIZE
        a = self.rng.uniform(-angle, angle)
        s = 1 + self.rng.uniform(-scale, scale)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), a, s)
        m = np.asarray(m, dtype=np.float64) + np.array(
            [
                [0.0, 0.0, self.rng.uniform(-shift, shift)],
                [0.0, 0.0, self.rng.uniform(-shift, shift)],
            ]
        )
        out = cv2.warpAffine(self.base, m, SIZE, borderMode=cv2.BORDER_REFLECT)
        return self.noisy(np.asarray(out, dtype=np.uint8))

    def tilted(self, degrees: float, f: float = 600.0) -> Bgr:
        """The photo as a flat card turned ``degrees`` about the vertical axis through the
        face (positive: the card's right edge moves away, as a citizen's-left turn)."""
        w, h = SIZE
        cx = float(self.points[:, 0].mean())
        th = math.radians(degrees)
        src, dst = [], []
        for x, y in ((0, 0), (w, 0), (w, h), (0, h)):
            dx = x - cx
            z = f + dx * math.sin(th)
            src.append((x, y))
            dst.append((cx + f * dx * math.cos(th) / z, h / 2 + f * (y - h / 2) / z))
        hm = cv2.getPerspectiveTransform(
            np.array(src, dtype=np.float32), np.array(dst, dtype=np.float32)
        )
        out = cv2.warpPerspective(self.base, hm, SIZE, borderMode=cv2.BORDER_REPLICATE)
        return self.noisy(np.asarray(out, dtype=np.uint8))

    def blink(self, closed: float = 1.0) -> Bgr:
        """Eyes shut by ``closed`` (0 open … 1 shut): the upper lid comes down."""
        out = self.base.copy()
        if closed <= 0:
            return self.noisy(out)
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            pts = self.points[list(ring), :2]
            upper, lower = pts[:9], np.concatenate([pts[8:], pts[:1]])[::-1]
            # lid edge: from the upper contour towards the lower one by `closed`
            lower_i = np.array([np.interp(u[0], lower[:, 0], lower[:, 1]) for u in upper])
            edge = np.column_stack([upper[:, 0], upper[:, 1] + (lower_i - upper[:, 1]) * closed])
            poly = np.concatenate([upper, edge[::-1]]).astype(np.int32)
            ys = int(pts[:, 1].max() + 0.5 * (pts[:, 1].max() - pts[:, 1].min())) + 3
            xs = slice(int(pts[:, 0].min()), int(pts[:, 0].max()))
            skin = np.median(self.base[ys : ys + 4, xs].reshape(-1, 3), axis=0)
            cv2.fillPoly(out, [poly], tuple(int(c) for c in skin * 0.85))
            # a little beyond the contour too, so no white of the eye shows
            cv2.polylines(out, [poly], True, tuple(int(c) for c in skin * 0.85), 2)
            cv2.polylines(out, [edge.astype(np.int32)], False, (40, 35, 35), 2)
        return self.noisy(np.asarray(cv2.GaussianBlur(out, (3, 3), 0), dtype=np.uint8))

    def turned(self, degrees: float) -> Bgr:
        """The head turned ``degrees`` towards the citizen's own left (negative: right);
        renders are cached per angle (noise is fresh on every call)."""
        key = round(degrees, 1)
        if key not in self._turns:
            self._turns[key] = self._render_turn(key)
        return self.noisy(self._turns[key])

    def _render_turn(self, degrees: float) -> Bgr:
        p = self.points
        th = math.radians(degrees)
        xc, zc = float(p[:, 0].mean()), float(p[:, 2].mean())
        # MediaPipe z is negative towards the camera; a left turn brings the nose to
        # the image's right.
        new = p[:, :2].copy()
        new[:, 0] = xc + (p[:, 0] - xc) * math.cos(th) - (p[:, 2] - zc) * math.sin(th)
        return self._warp(new)

    def mouth(self, opening: float = 1.0) -> Bgr:
        """The mouth opened by ``opening`` (0 closed … 1 wide): the jaw drops."""
        key = round(opening, 2)
        if key not in self._mouths:
            self._mouths[key] = self._render_mouth(key)
        return self.noisy(self._mouths[key])

    def _render_mouth(self, opening: float) -> Bgr:
        p = self.points
        width = float(np.linalg.norm(p[78, :2] - p[308, :2]))
        drop = opening * 0.6 * width
        mid_y = float(p[13, 1] + p[14, 1]) / 2
        xc = float(p[13, 0])
        half = float(p[:, 0].max() - p[:, 0].min()) / 2
        below = p[:, 1] > mid_y
        below[list(LOWER_INNER_LIP)] = True
        below[list(UPPER_INNER_LIP)] = False
        below[[78, 308]] = False
        # the jaw moves down as a whole, less towards the sides of the face
        fall = np.clip(1.2 - np.abs(p[:, 0] - xc) / half, 0.0, 1.0)
        new = p[:, :2].copy()
        new[below, 1] += drop * fall[below]
        out = self._warp(new)
        cavity = np.concatenate([new[list(UPPER_INNER_LIP)], new[list(LOWER_INNER_LIP)][::-1]])
        cv2.fillPoly(out, [cavity.astype(np.int32)], (35, 25, 30))
        return out

    def _warp(self, new: Points) -> Bgr:
        """The base frame warped piecewise-linearly so its landmarks land on ``new``."""
        from scipy.interpolate import LinearNDInterpolator  # type: ignore[import-untyped]

        p = self.points
        x0, y0 = p[:, 0].min(), p[:, 1].min()
        x1, y1 = p[:, 0].max(), p[:, 1].max()
        mx, my = (x1 - x0) * 0.35, (y1 - y0) * 0.35
        bx0, by0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
        bx1, by1 = min(SIZE[0], int(x1 + mx)), min(SIZE[1], int(y1 + my))
        ring = []
        for k in range(24):
            u = k / 24
            ring += [
                (bx0 + u * (bx1 - bx0), by0),
                (bx1, by0 + u * (by1 - by0)),
                (bx1 - u * (bx1 - bx0), by1),
                (bx0, by1 - u * (by1 - by0)),
            ]
        anchors = np.array(ring)
        dst = np.concatenate([new, anchors])
        src = np.concatenate([p[:, :2], anchors])
        # backward map: for each output pixel, where it comes from in the frontal frame
        # (evaluated on a half-resolution grid: the map is smooth, and this is 4× faster)
        interp = LinearNDInterpolator(dst, src)
        gx, gy = np.meshgrid(np.arange(bx0, bx1, 2.0), np.arange(by0, by1, 2.0))
        mapped = interp(gx.ravel(), gy.ravel()).reshape(gx.shape[0], gx.shape[1], 2)
        nan = np.isnan(mapped[..., 0])
        mapped[nan, 0] = gx[nan]
        mapped[nan, 1] = gy[nan]
        size = (bx1 - bx0, by1 - by0)
        map_x = cv2.resize(mapped[..., 0].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        map_y = cv2.resize(mapped[..., 1].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        out = self.base.copy()
        out[by0:by1, bx0:bx1] = cv2.remap(self.base, map_x, map_y, cv2.INTER_LINEAR)
        return out
