"""Synthetic subjects for the real-model tests: each reacts to the prompts like a person
(or an attacker) would, frame by frame, from :class:`devices.camera.synthetic.Renderer`.

A subject is called with (current prompt or None, seconds since it, frame index) and
returns the next BGR frame; :func:`run_attempt` plays it through a real
:class:`devices.camera.attempt.Attempt` and records which frames were blinks, turns or
blurred, so tests can check where the best frame came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.camera.attempt import Attempt, AttemptResult
from devices.camera.liveness import Challenge, Phase
from devices.camera.synthetic import Renderer

Bgr = NDArray[np.uint8]
FPS = 30.0
DELAY = 0.4  # reaction time after a prompt
TURN_ANGLES = (10, 20, 28, 30, 30, 28, 20, 10)  # one head turn, frame by frame
MOUTH_OPENINGS = (0.3, 0.6, 1.0, 1.0, 1.0, 1.0, 0.6, 0.3)  # one jaw drop


@dataclass
class Log:
    """What the subject showed at each frame time."""

    kinds: dict[float, str] = field(default_factory=dict)


Subject = Callable[[Challenge | None, float | None, float, Log], Bgr]


def _response(
    r: Renderer, c: Challenge | None, dt: float | None, t: float, log: Log, *, flat: bool
) -> Bgr | None:
    if c is None or dt is None or dt < DELAY:
        return None
    k = int((dt - DELAY) * FPS)
    if c is Challenge.BLINK:
        if k < 4:
            log.kinds[t] = "blink"
            return r.blink((0.6, 1.0, 1.0, 0.6)[k])
        return None
    if c is Challenge.MOUTH:
        if k < len(MOUTH_OPENINGS):
            log.kinds[t] = "mouth"
            return r.mouth(MOUTH_OPENINGS[k])
        return None
    if k < len(TURN_ANGLES):
        d = 1 if c is Challenge.TURN_LEFT else -1
        log.kinds[t] = "turn"
        return r.tilted(1.2 * d * TURN_ANGLES[k]) if flat else r.turned(d * TURN_ANGLES[k])
    return None


def cooperative(r: Renderer, *, blur_idle: bool = False) -> Subject:
    """Blinks and turns (in 3-D) when asked; optionally every other idle frame blurred."""

    def subject(c: Challenge | None, dt: float | None, t: float, log: Log) -> Bgr:
        frame = _response(r, c, dt, t, log, flat=False)
        if frame is not None:
            return frame
        if blur_idle and int(t * FPS) % 2:
            log.kinds[t] = "blur"
            return np.asarray(cv2.GaussianBlur(r.still(), (9, 9), 0), dtype=np.uint8)
        return r.still()

    return subject


def flat_photo_attacker(r: Renderer) -> Subject:
    """A printed photo with the eyes cut out (so blinks render) that is tilted when asked
    to turn: no depth."""

    def subject(c: Challenge | None, dt: float | None, t: float, log: Log) -> Bgr:
        frame = _response(r, c, dt, t, log, flat=True)
        return r.still() if frame is None else frame

    return subject


def still_photo(r: Renderer) -> Subject:
    return lambda c, dt, t, log: r.still()


def jittered_photo(r: Renderer) -> Subject:
    return lambda c, dt, t, log: r.jittered()


def run_attempt(
    attempt: Attempt, subject: Subject, *, max_seconds: float = 60.0
) -> tuple[AttemptResult, Log]:
    log = Log()
    prompt: Challenge | None = None
    prompt_t: float | None = None
    for i in range(int(max_seconds * FPS)):
        t = i / FPS
        frame = subject(prompt, None if prompt_t is None else t - prompt_t, t, log)
        step = attempt.process(frame, t)
        if step.guidance is not None and step.guidance.phase is Phase.PROMPT:
            prompt, prompt_t = attempt.machine.current, t
        if step.decision is not None:
            return attempt.result(), log
    return attempt.abandon("no_decision"), log
