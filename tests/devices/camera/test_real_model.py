"""The real MediaPipe model on synthetic sequences made from ``skimage.data.astronaut()``.

Expected matrix: a still photo, a jittered photo and a tilted flat photo (with cut-out
eyes, so it can even blink) FAIL; a subject with a rendered blink and rendered 3-D head
turns PASSES, and so does one asked to open the mouth (a rendered jaw drop). What these
prove and cannot prove is in :mod:`devices.camera.synthetic`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from devices.camera.attempt import Attempt
from devices.camera.landmarks import FaceLandmarker
from devices.camera.liveness import Challenge, LivenessMachine, Thresholds
from devices.camera.metrics import LEFT_EYE, RIGHT_EYE, MetricExtractor, ear
from devices.camera.synthetic import Bgr, Renderer
from tests.devices.camera import people

L, R, B = Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.BLINK
#: one try per challenge, 2.5 s windows: attacks fail fast (the retry logic is unit-tested)
QUICK = Thresholds(retries=0, window=2.5)


def _measure(
    lm: FaceLandmarker, frames: list[Bgr]
) -> list[tuple[float, float, float, float, float]]:
    ex = MetricExtractor()
    out = []
    for i, f in enumerate(frames):
        faces = lm.detect(np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), dtype=np.uint8), i / 30)
        m = ex.measure(f, faces, i / 30, at_gate=i < 3).metrics
        assert m.faces == 1
        out.append((m.nr, m.parallax, m.yaw, m.ear_left, m.ear_right))
    return out


def test_blink_and_turn_metrics_respond_and_flat_tilt_has_no_parallax(
    renderer: Renderer, landmarker: FaceLandmarker
) -> None:
    front = [renderer.still() for _ in range(3)]
    ms = _measure(
        landmarker,
        [*front, renderer.blink(1.0), renderer.turned(28), renderer.turned(-28)]
        + [renderer.tilted(a) for a in (-35, -20, 20, 35)],
    )
    nr0 = ms[0][0]
    blink, left, right, tilts = ms[3], ms[4], ms[5], ms[6:]
    assert max(blink[3], blink[4]) < 0.6 * ms[0][3]  # both eyes closed
    assert left[0] - nr0 >= 0.15 and left[1] >= 0.15 and left[2] >= 15  # citizen's left
    assert nr0 - right[0] >= 0.15 and right[1] >= 0.15 and right[2] <= -15
    for nr, par, _yaw, *_ in tilts:  # the flat card: no depth, so no parallax
        assert par < 0.05
        assert abs(nr - nr0) < 0.15


def test_cooperative_subject_passes_and_best_frame_is_open_eyed_frontal_and_sharp(
    renderer: Renderer, landmarker: FaceLandmarker
) -> None:
    machine = LivenessMachine(random.Random(5), allow_mouth=False)
    result, log = people.run_attempt(
        Attempt(landmarker, machine), people.cooperative(renderer, blur_idle=True)
    )
    assert result.live, result.as_dict()
    assert {c.challenge for c in result.decision.challenges} == {L, R, B}
    best = result.best
    assert best is not None
    assert log.kinds.get(best.t) is None  # not a blink, a turn or a blurred frame
    jpeg = best.jpeg()
    assert jpeg[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (480, 640, 3)
    # the chosen frame, re-measured, has open eyes
    rgb = np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    faces = landmarker.detect(rgb, 1000.0)
    pts = faces[0].points
    assert min(ear(pts, LEFT_EYE), ear(pts, RIGHT_EYE)) > 0.25


@pytest.mark.parametrize(
    ("make", "plan", "reason"),
    [
        (people.still_photo, (B, L, R), "blink:timeout"),
        (people.jittered_photo, (L, B, R), "turn_left:timeout"),
        (people.flat_photo_attacker, (B, R, L), "turn_right:timeout"),
    ],
)
def test_photo_attacks_fail(
    renderer: Renderer,
    landmarker: FaceLandmarker,
    make: Callable[[Renderer], people.Subject],
    plan: tuple[Challenge, ...],
    reason: str,
) -> None:
    machine = LivenessMachine(random.Random(1), QUICK, plan=plan)
    result, log = people.run_attempt(Attempt(landmarker, machine), make(renderer))
    assert not result.live
    assert result.reason == reason
    if make is people.flat_photo_attacker:
        # the cut-out eyes passed the blink: the turn is what stopped it
        assert result.decision.challenges[0].passed
        assert "turn" in log.kinds.values()


def test_cooperative_subject_passes_the_mouth_challenge(
    renderer: Renderer, landmarker: FaceLandmarker
) -> None:
    machine = LivenessMachine(random.Random(1), plan=(Challenge.MOUTH, B, L))
    result, log = people.run_attempt(Attempt(landmarker, machine), people.cooperative(renderer))
    assert result.live, result.as_dict()
    assert result.decision.challenges[0].challenge is Challenge.MOUTH
    assert result.best is not None and log.kinds.get(result.best.t) is None  # mouth closed
