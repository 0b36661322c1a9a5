"""Scripted metric streams for the liveness state machine: a simulated person at 30 fps.

An actor sees the prompt the machine gave (and when) and returns the metric overrides for
the next frame, like a person reacting to the screen. Neutral metrics: one 200×240 face in
the middle, eyes open (EAR 0.30), mouth closed (MAR 0.10), frontal.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from devices.camera.liveness import Challenge, Decision, FrameMetrics, LivenessMachine, Phase

FPS = 30.0
NEUTRAL = FrameMetrics(
    t=0.0, faces=1, box=(220.0, 120.0, 200.0, 240.0), ear_left=0.3, ear_right=0.3, mar=0.1
)

#: actor(challenge or None, seconds since that prompt or None, t) → overrides
Actor = Callable[[Challenge | None, float | None, float], dict[str, Any]]


def turn(d: float, *, parallax: float = 0.3, yaw: float = 25.0, nr: float = 0.25) -> dict[str, Any]:
    return {"nr": d * nr, "yaw": d * yaw, "parallax": parallax}


def respond(
    c: Challenge,
    dt: float,
    *,
    delay: float = 0.4,
    flat: bool = False,
    reverse: bool = False,
    blink_len: float = 0.12,
) -> dict[str, Any]:
    """A cooperative response ``delay`` s after the prompt (options make it go wrong)."""
    if dt < delay:
        return {}
    s = dt - delay
    if c is Challenge.BLINK:
        return {"ear_left": 0.08, "ear_right": 0.09} if s < blink_len else {}
    if c is Challenge.MOUTH:
        return {"mar": 0.6} if s < 0.4 else {}
    d = 1.0 if c is Challenge.TURN_LEFT else -1.0
    if reverse:
        d = -d
    if s < 0.5:
        return turn(d, parallax=0.04 if flat else 0.3, yaw=20.0)
    return {}


def cooperative(**kw: Any) -> Actor:
    def act(c: Challenge | None, dt: float | None, t: float) -> dict[str, Any]:
        return {} if c is None or dt is None else respond(c, dt, **kw)

    return act


def run(
    machine: LivenessMachine,
    actor: Actor,
    *,
    seconds: float = 60.0,
    start: dict[str, Any] | None = None,
    at: Callable[[float], dict[str, Any]] | None = None,
) -> tuple[Decision, list[str]]:
    """Feed frames until a decision; returns it and the guidance keys shown, in order."""
    prompt: Challenge | None = None
    prompt_t: float | None = None
    keys: list[str] = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        over = dict(start or {})
        over.update(actor(prompt, None if prompt_t is None else t - prompt_t, t))
        if at is not None:
            over.update(at(t))
        step = machine.feed(replace(NEUTRAL, t=t, **over))
        if step.guidance is not None:
            keys.append(step.guidance.key)
            if step.guidance.phase is Phase.PROMPT:
                prompt, prompt_t = machine.current, t
        if step.decision is not None:
            return step.decision, keys
    raise AssertionError("no decision")


def machine(plan: tuple[Challenge, ...], seed: int = 1, **kw: Any) -> LivenessMachine:
    return LivenessMachine(random.Random(seed), plan=plan, **kw)
