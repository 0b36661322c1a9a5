"""One liveness attempt: frames → landmarks → metrics → state machine → best frame.

Per frame (:meth:`Attempt.process`): the RGB frame goes through the face landmarker
(VIDEO mode), :class:`devices.camera.metrics.MetricExtractor` turns the faces into
:class:`FrameMetrics`, the :class:`LivenessMachine` judges them, and frames inside the
attempt are offered to the :class:`BestFrameSelector`. Guidance changes go to the
``on_guidance`` callback (called on the calling thread). When the machine decides,
:meth:`Attempt.result` gives the decision and the best frame (kept in memory only).

A live decision with no qualifying frame is reported as not live (``no_good_frame``):
the 1:1 match needs a frame from inside the attempt. A failed attempt returns no frame.

Threading: an attempt lives on one thread (the camera device's worker, or the CLI's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.camera.bestframe import BestFrame, BestFrameSelector
from devices.camera.landmarks import FaceLandmarker
from devices.camera.liveness import Decision, Guidance, LivenessMachine, Phase, Step
from devices.camera.metrics import MetricExtractor

Bgr = NDArray[np.uint8]


@dataclass(frozen=True)
class AttemptResult:
    live: bool
    reason: str
    decision: Decision
    best: BestFrame | None
    frames: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "reason": self.reason,
            "challenges": self.decision.as_dict()["challenges"],
            "frames": self.frames,
            "best_frame": self.best is not None,
        }


class Attempt:
    def __init__(
        self,
        landmarker: FaceLandmarker,
        machine: LivenessMachine | None = None,
        *,
        on_guidance: Callable[[Guidance], None] | None = None,
    ) -> None:
        self.landmarker = landmarker
        self.machine = machine or LivenessMachine()
        self.extractor = MetricExtractor()
        self.selector = BestFrameSelector()
        self.on_guidance = on_guidance
        self.frames = 0

    @property
    def decision(self) -> Decision | None:
        return self.machine.decision

    def process(self, frame: Bgr, t: float) -> Step:
        """Judge one BGR frame taken at ``t`` seconds."""
        self.frames += 1
        rgb = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        faces = self.landmarker.detect(rgb, t)
        at_gate = self.machine.phase is Phase.GATE
        measured = self.extractor.measure(frame, faces, t, at_gate=at_gate)
        step = self.machine.feed(measured.metrics)
        base = self.machine.baseline
        if self.machine.in_session and base is not None and measured.face is not None:
            self.selector.offer(
                frame, measured.gray, measured.metrics, ear0=base.ear, mar0=base.mar, nr0=base.nr
            )
        if step.guidance is not None and self.on_guidance is not None:
            self.on_guidance(step.guidance)
        return step

    def result(self) -> AttemptResult:
        decision = self.machine.decision
        if decision is None:
            raise RuntimeError("the attempt has not been decided yet")
        best = self.selector.best
        if not decision.live:
            self.selector.wipe()  # no frame of a failed attempt leaves the attempt
            return AttemptResult(False, decision.reason, decision, None, self.frames)
        if best is None:
            return AttemptResult(False, "no_good_frame", decision, None, self.frames)
        return AttemptResult(True, decision.reason, decision, best, self.frames)

    def abandon(self, reason: str) -> AttemptResult:
        """The frames stopped (end of a file, timeout) before a decision."""
        decision = self.machine.decision or Decision(False, reason, ())
        self.selector.wipe()
        if self.machine.decision is None and self.on_guidance is not None:
            self.on_guidance(Guidance("failed", Phase.DONE))  # the screen must not hang
        return AttemptResult(False, decision.reason, decision, None, self.frames)

    def wipe(self) -> None:
        self.selector.wipe()
