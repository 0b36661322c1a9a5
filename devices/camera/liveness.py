"""Active liveness as a pure state machine fed by per-frame metrics.

Input: one :class:`FrameMetrics` per camera frame (numbers only: face count, face box,
eye/mouth aspect ratios, nose offset, 3-D parallax, yaw/pitch, exposure flag, and the
frame time in seconds). Output of :meth:`LivenessMachine.feed`: a :class:`Step` with the
guidance to show/speak when it changed, and the final :class:`Decision` once decided.
No I/O, no clock, no threads: time comes from ``FrameMetrics.t``, randomness from the
injected ``random.Random``, so scripted metric streams test every rule exactly.

Phases
------
1. **Gate**: ``gate_frames`` consecutive frames with exactly one face, large enough,
   centred, frontal, well lit, eyes open. Their medians become the baselines (EAR₀,
   NR₀, MAR₀, face height). Until then the citizen gets guidance ("请正对摄像头",
   "请靠近一点"…); after ``gate_timeout`` s the attempt fails (``no_face``).
2. **Challenges**: three, in random order, always at least one head turn and one
   blink; the third is the other turn or (``allow_mouth``) mouth open. Before each
   prompt a random gap (``gap_min``..``gap_max`` s). Each try has ``window`` s and a
   challenge gets ``1 + retries`` tries. A response already under way at the prompt, or
   starting less than ``min_latency`` s after it, fails the try (``early``).

   * BLINK: both EARs < ``blink_closed``·EAR₀, then both > ``blink_open``·EAR₀, closed
     for at most ``blink_max`` s (longer: ``long_blink``).
   * TURN d (d = +1 the citizen's own left, −1 right): d·(NR−NR₀) ≥ ``turn_nr``, and,
     during the turn, parallax ≥ ``turn_parallax`` **and** d·yaw ≥ ``turn_yaw``; then
     back to |NR−NR₀| < ``neutral_nr``. Turning the other way fails (``wrong_direction``);
     a turn with yaw but without parallax is what a tilted flat photo gives
     (``flat_turn``): yaw alone is never enough (a photo tilted 35° reads ~20° yaw).
   * MOUTH: MAR ≥ max(``mouth_min``, 2·MAR₀), then closed again (MAR below half that
     level, or below 1.3·MAR₀ when that is higher).
3. **Throughout the challenges**: exactly one face on every frame (a second face
   aborts: ``second_face``), no gap of more than ``max_gap_frames`` frames without a
   face (``face_lost``), consecutive face boxes overlapping (IoU ≥ ``min_iou``,
   else ``face_jump``), and face height within ±``size_tolerance`` of the baseline
   (``face_size``). Any violation aborts at once.

Directions are the citizen's own: NR is measured in the camera's (non-mirrored) image,
where the citizen's left is the image's right, so "请向左转头" means d = +1 whatever the
preview's mirroring. The thresholds come from synthetic data
(``devices.camera.synthetic``) and must be recalibrated on real people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Challenge(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the citizen's own left
    TURN_RIGHT = "turn_right"
    MOUTH = "mouth"


class Phase(StrEnum):
    GATE = "gate"
    GAP = "gap"
    PROMPT = "prompt"
    DONE = "done"


#: Guidance key → (Chinese, English). The app draws and speaks these.
GUIDANCE: dict[str, tuple[str, str]] = {
    "face_camera": ("请正对摄像头", "Please look straight at the camera"),
    "no_face": ("请站到摄像头前", "Please stand in front of the camera"),
    "come_closer": ("请靠近一点", "Please come a little closer"),
    "centre": ("请移到画面中间", "Please move to the middle of the picture"),
    "one_person": ("请确保画面中只有您一人", "Only one person in the picture, please"),
    "light": ("光线不好，请调整位置", "The light is poor; please move a little"),
    "open_eyes": ("请睁开眼睛", "Please open your eyes"),
    "hold_still": ("请保持不动", "Please hold still"),
    "blink": ("请眨眨眼", "Please blink"),
    "turn_left": ("请向左转头", "Please turn your head to your left"),
    "turn_right": ("请向右转头", "Please turn your head to your right"),
    "mouth": ("请张张嘴", "Please open your mouth"),
    "retry": ("请再试一次", "Let's try that again"),
    "passed": ("验证通过", "Check passed"),
    "failed": ("未能通过验证，请选择其他方式", "The check did not pass; please choose another way"),
}


@dataclass(frozen=True)
class FrameMetrics:
    """What one frame showed. ``box`` is (x, y, w, h) in pixels; angles in degrees, yaw
    positive towards the citizen's own left; NR/parallax in inter-ocular distances."""

    t: float
    faces: int
    frame_w: int = 640
    frame_h: int = 480
    box: tuple[float, float, float, float] | None = None
    ear_left: float = 0.0
    ear_right: float = 0.0
    mar: float = 0.0
    nr: float = 0.0
    parallax: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    well_lit: bool = True


@dataclass(frozen=True)
class Thresholds:
    gate_frames: int = 10
    gate_timeout: float = 20.0
    min_face_frac: float = 0.22  # face width / frame width (≈140 px at 640)
    centre_tol: float = 0.2  # face centre within ±20 % of the frame centre
    frontal_yaw: float = 10.0
    frontal_pitch: float = 15.0
    min_ear: float = 0.15  # eyes open enough to set a baseline
    gap_min: float = 0.3
    gap_max: float = 1.0
    window: float = 4.0
    retries: int = 2
    min_latency: float = 0.15
    blink_closed: float = 0.6
    blink_open: float = 0.85
    blink_max: float = 0.4
    turn_nr: float = 0.15
    turn_parallax: float = 0.15
    turn_yaw: float = 15.0
    neutral_nr: float = 0.06
    mouth_min: float = 0.35
    max_gap_frames: int = 2
    min_iou: float = 0.5
    size_tolerance: float = 0.25


@dataclass(frozen=True)
class Guidance:
    key: str
    phase: Phase

    @property
    def text_zh(self) -> str:
        return GUIDANCE[self.key][0]

    @property
    def text_en(self) -> str:
        return GUIDANCE[self.key][1]


@dataclass(frozen=True)
class ChallengeResult:
    challenge: Challenge
    passed: bool
    tries: int
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "challenge": str(self.challenge),
            "passed": self.passed,
            "tries": self.tries,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Decision:
    live: bool
    reason: str
    challenges: tuple[ChallengeResult, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "live": self.live,
            "reason": self.reason,
            "challenges": [c.as_dict() for c in self.challenges],
        }


@dataclass(frozen=True)
class Step:
    guidance: Guidance | None = None
    decision: Decision | None = None


@dataclass
class _Baseline:
    ear: float
    nr: float
    mar: float
    height: float


@dataclass
class _Try:
    started: float
    departed_at: float | None = None
    closed_at: float | None = None  # blink
    reached: bool = False  # turn reached / mouth opened
    max_parallax: float = 0.0
    max_yaw: float = 0.0


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def plan_challenges(rng: random.Random, *, allow_mouth: bool) -> tuple[Challenge, ...]:
    """Three challenges in random order: one turn, one blink, and the other turn or mouth."""
    first_turn = rng.choice((Challenge.TURN_LEFT, Challenge.TURN_RIGHT))
    other_turn = Challenge.TURN_RIGHT if first_turn is Challenge.TURN_LEFT else Challenge.TURN_LEFT
    third = rng.choice((other_turn, Challenge.MOUTH)) if allow_mouth else other_turn
    plan = [first_turn, Challenge.BLINK, third]
    rng.shuffle(plan)
    return tuple(plan)


class LivenessMachine:
    """One attempt. Feed every frame's metrics in order; stop once a decision arrives."""

    def __init__(
        self,
        rng: random.Random | None = None,
        thresholds: Thresholds | None = None,
        *,
        plan: tuple[Challenge, ...] | None = None,
        allow_mouth: bool = True,
    ) -> None:
        self.th = thresholds or Thresholds()
        self._rng = rng or random.SystemRandom()
        self.plan = plan or plan_challenges(self._rng, allow_mouth=allow_mouth)
        self.phase = Phase.GATE
        self._start: float | None = None
        self._gate: list[FrameMetrics] = []
        self.baseline: _Baseline | None = None
        self._index = 0
        self._tries = 0
        self._reasons: list[str] = []
        self._results: list[ChallengeResult] = []
        self._gap_until = 0.0
        self._try: _Try | None = None
        self._prev_box: tuple[float, float, float, float] | None = None
        self._missing = 0
        self._last_guidance: Guidance | None = None
        self.decision: Decision | None = None

    # -- public ----------------------------------------------------------------------------

    @property
    def in_session(self) -> bool:
        """True from the first prompt until the decision (best frames come from here)."""
        return self.decision is None and (
            self._index > 0 or self._tries > 0 or self._try is not None
        )

    @property
    def current(self) -> Challenge | None:
        return self.plan[self._index] if self.phase is Phase.PROMPT else None

    def feed(self, m: FrameMetrics) -> Step:
        if self.decision is not None:
            return Step(decision=self.decision)
        if self._start is None:
            self._start = m.t
        if self.phase is Phase.GATE:
            return self._gate_step(m)
        abort = self._continuity(m)
        if abort is not None:
            return self._finish(False, abort)
        if m.faces == 0:
            return Step()  # a short gap: tolerated, nothing to judge on this frame
        if self.phase is Phase.GAP:
            if m.t < self._gap_until:
                return Step()
            return self._prompt(m)
        return self._challenge_step(m)

    # -- gate --------------------------------------------------------------------------------

    def _gate_problem(self, m: FrameMetrics) -> str | None:
        th = self.th
        if m.faces == 0 or m.box is None:
            return "no_face"
        if m.faces > 1:
            return "one_person"
        x, y, w, h = m.box
        if w < th.min_face_frac * m.frame_w:
            return "come_closer"
        cx, cy = x + w / 2, y + h / 2
        if abs(cx / m.frame_w - 0.5) > th.centre_tol or abs(cy / m.frame_h - 0.5) > th.centre_tol:
            return "centre"
        if abs(m.yaw) > th.frontal_yaw or abs(m.pitch) > th.frontal_pitch:
            return "face_camera"
        if not m.well_lit:
            return "light"
        if min(m.ear_left, m.ear_right) < th.min_ear:
            return "open_eyes"
        return None

    def _gate_step(self, m: FrameMetrics) -> Step:
        assert self._start is not None
        problem = self._gate_problem(m)
        if problem is not None:
            self._gate.clear()
            if m.t - self._start > self.th.gate_timeout:
                return self._finish(False, "no_face" if problem == "no_face" else "gate:" + problem)
            return Step(guidance=self._guide(problem, Phase.GATE))
        self._gate.append(m)
        if len(self._gate) < self.th.gate_frames:
            return Step(guidance=self._guide("hold_still", Phase.GATE))
        frames = self._gate
        self.baseline = _Baseline(
            ear=_median([(f.ear_left + f.ear_right) / 2 for f in frames]),
            nr=_median([f.nr for f in frames]),
            mar=_median([f.mar for f in frames]),
            height=_median([f.box[3] for f in frames if f.box is not None]),
        )
        self._prev_box = m.box
        self._start_gap(m.t)
        return Step()

    # -- continuity --------------------------------------------------------------------------

    def _continuity(self, m: FrameMetrics) -> str | None:
        th = self.th
        if m.faces > 1:
            return "second_face"
        if m.faces == 0 or m.box is None:
            self._missing += 1
            return "face_lost" if self._missing > th.max_gap_frames else None
        self._missing = 0
        assert self.baseline is not None
        if self._prev_box is not None and iou(self._prev_box, m.box) < th.min_iou:
            return "face_jump"
        self._prev_box = m.box
        if abs(m.box[3] / self.baseline.height - 1.0) > th.size_tolerance:
            return "face_size"
        return None

    # -- challenges --------------------------------------------------------------------------

    def _start_gap(self, t: float) -> None:
        self.phase = Phase.GAP
        self._gap_until = t + self._rng.uniform(self.th.gap_min, self.th.gap_max)

    def _neutral(self, c: Challenge, m: FrameMetrics) -> bool:
        b = self.baseline
        assert b is not None
        th = self.th
        if c is Challenge.BLINK:
            return min(m.ear_left, m.ear_right) > th.blink_closed * b.ear
        if c is Challenge.MOUTH:
            return m.mar < max(self._mouth_open_level() / 2, 1.3 * b.mar)
        return abs(m.nr - b.nr) < th.neutral_nr

    def _mouth_open_level(self) -> float:
        assert self.baseline is not None
        return max(self.th.mouth_min, 2 * self.baseline.mar)

    def _prompt(self, m: FrameMetrics) -> Step:
        c = self.plan[self._index]
        self.phase = Phase.PROMPT
        self._try = _Try(started=m.t)
        if not self._neutral(c, m):
            return self._try_failed(m, "early")
        return Step(guidance=self._guide(str(c), Phase.PROMPT))

    def _challenge_step(self, m: FrameMetrics) -> Step:
        c = self.plan[self._index]
        tr = self._try
        b = self.baseline
        assert tr is not None and b is not None
        th = self.th
        if tr.departed_at is None and not self._neutral(c, m):
            tr.departed_at = m.t
            if m.t - tr.started < th.min_latency:
                return self._try_failed(m, "early")
        if c is Challenge.BLINK:
            closed = max(m.ear_left, m.ear_right) < th.blink_closed * b.ear
            opened = min(m.ear_left, m.ear_right) > th.blink_open * b.ear
            if closed and tr.closed_at is None:
                tr.closed_at = m.t
            if tr.closed_at is not None:
                if m.t - tr.closed_at > th.blink_max and not opened:
                    return self._try_failed(m, "long_blink")
                if opened:
                    return self._challenge_passed(m)
        elif c is Challenge.MOUTH:
            if m.mar >= self._mouth_open_level():
                tr.reached = True
            elif tr.reached and self._neutral(c, m):
                return self._challenge_passed(m)
        else:
            d = 1.0 if c is Challenge.TURN_LEFT else -1.0
            delta = m.nr - b.nr
            if -d * delta >= th.turn_nr:
                return self._try_failed(m, "wrong_direction")
            if d * delta >= th.turn_nr:
                tr.reached = True
                tr.max_parallax = max(tr.max_parallax, m.parallax)
                tr.max_yaw = max(tr.max_yaw, d * m.yaw)
            elif tr.reached and abs(delta) < th.neutral_nr:
                if tr.max_parallax < th.turn_parallax:
                    return self._try_failed(m, "flat_turn")
                if tr.max_yaw < th.turn_yaw:
                    return self._try_failed(m, "small_turn")
                return self._challenge_passed(m)
        if m.t - tr.started > th.window:
            return self._try_failed(m, "timeout")
        return Step()

    def _challenge_passed(self, m: FrameMetrics) -> Step:
        c = self.plan[self._index]
        self._results.append(ChallengeResult(c, True, self._tries + 1, tuple(self._reasons)))
        self._index += 1
        self._tries = 0
        self._reasons = []
        self._try = None
        if self._index == len(self.plan):
            return self._finish(True, "passed")
        self._start_gap(m.t)
        return Step()

    def _try_failed(self, m: FrameMetrics, reason: str) -> Step:
        c = self.plan[self._index]
        self._reasons.append(reason)
        self._tries += 1
        self._try = None
        if self._tries > self.th.retries:
            self._results.append(ChallengeResult(c, False, self._tries, tuple(self._reasons)))
            return self._finish(False, f"{c}:{reason}")
        self._start_gap(m.t)
        return Step(guidance=self._guide("retry", Phase.GAP))

    def _finish(self, live: bool, reason: str) -> Step:
        self.phase = Phase.DONE
        self._try = None
        self.decision = Decision(live, reason, tuple(self._results))
        return Step(
            guidance=self._guide("passed" if live else "failed", Phase.DONE),
            decision=self.decision,
        )

    def _guide(self, key: str, phase: Phase) -> Guidance | None:
        g = Guidance(key, phase)
        if g == self._last_guidance and key != "retry":
            return None
        self._last_guidance = g
        return g


__all__ = [
    "GUIDANCE",
    "Challenge",
    "ChallengeResult",
    "Decision",
    "FrameMetrics",
    "Guidance",
    "LivenessMachine",
    "Phase",
    "Step",
    "Thresholds",
    "iou",
    "plan_challenges",
]
