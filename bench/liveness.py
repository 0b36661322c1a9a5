"""Benchmark: the face-liveness per-frame pipeline at 640×480, and the decision time.

Printed figures:

* per-frame time (median, p95) and the fps it allows, for the landmark model alone and
  for the whole per-frame pipeline (BGR→RGB, MediaPipe Face Landmarker in VIDEO mode,
  metrics, state machine, best-frame candidate check) on synthetic 640×480 frames of
  the astronaut subject (still, blink, 3-D turn frames mixed); target ≥ 15 fps;
* the decision time of a cooperative synthetic attempt (a subject that reacts to each
  prompt 0.4 s later): simulated seconds from the first frame to the decision (what a
  citizen waits at 30 fps) and the CPU wall time it took here, plus the frames processed.

Frames are rendered before timing (rendering is not part of the pipeline). The subject
comes from ``tests/devices/camera/people.py``. Run:
``.venv/bin/python -m bench.liveness [--frames 300] [--attempts 3]``.

Measured on the shared 2-core VM (2026-11-28, one run): model alone median 21.9 ms
(45.6 fps), whole pipeline median 21.4 ms, p95 27.5 ms (≈ 46 fps, target ≥ 15 fps);
cooperative attempts decided after 4.1–4.2 s of video (124–127 frames).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import cv2
import numpy as np

from devices.camera.attempt import Attempt
from devices.camera.landmarks import FaceLandmarker
from devices.camera.liveness import LivenessMachine
from devices.camera.synthetic import Bgr, Renderer
from tests.devices.camera import people


def _stats(ms: list[float]) -> str:
    s = sorted(ms)
    med = statistics.median(s)
    p95 = s[min(len(s) - 1, int(0.95 * len(s)))]
    return f"median {med:6.1f} ms  p95 {p95:6.1f} ms  → {1000 / med:5.1f} fps"


def _frames(r: Renderer, n: int) -> list[Bgr]:
    kinds = [r.still(), r.blink(1.0), r.turned(20), r.turned(-20), r.jittered()]
    return [r.noisy(kinds[i % len(kinds)]) for i in range(n)]


def per_frame(r: Renderer, n: int) -> None:
    frames = _frames(r, n)
    with FaceLandmarker() as lm:
        model_ms = []
        for i, f in enumerate(frames):
            rgb = np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            t0 = time.perf_counter()
            lm.detect(rgb, i / 30)
            model_ms.append((time.perf_counter() - t0) * 1000)
    with FaceLandmarker() as lm:
        attempt = Attempt(lm, LivenessMachine(random.Random(1), allow_mouth=False))
        pipe_ms = []
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            attempt.process(f, 100 + i / 30)
            pipe_ms.append((time.perf_counter() - t0) * 1000)
    print(f"landmark model only, 640x480, {n} frames: {_stats(model_ms[5:])}")
    print(f"whole per-frame pipeline, 640x480:       {_stats(pipe_ms[5:])}")


def decisions(r: Renderer, attempts: int) -> None:
    for k in range(attempts):
        subject = people.cooperative(r)
        # warm the turn renders so the timing is the pipeline's, not the renderer's
        for a in people.TURN_ANGLES:
            r.turned(a)
            r.turned(-a)
        with FaceLandmarker() as lm:
            machine = LivenessMachine(random.Random(100 + k), allow_mouth=False)
            t0 = time.perf_counter()
            result, _ = people.run_attempt(Attempt(lm, machine), subject)
            wall = time.perf_counter() - t0
        frames = result.frames
        print(
            f"cooperative attempt {k + 1}: live={result.live} plan={[str(c) for c in machine.plan]}"
            f"  decided after {frames / people.FPS:4.1f} s of video ({frames} frames),"
            f" {wall:4.1f} s wall here (incl. rendering)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--attempts", type=int, default=3)
    args = ap.parse_args()
    with FaceLandmarker() as lm:
        r = Renderer(seed=11, landmarker=lm)
    per_frame(r, args.frames)
    decisions(r, args.attempts)


if __name__ == "__main__":
    main()
