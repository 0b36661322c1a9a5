"""The liveness state machine on scripted metric streams (no camera, no model)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.camera.liveness import (
    GUIDANCE,
    Challenge,
    FrameMetrics,
    LivenessMachine,
    iou,
    plan_challenges,
)
from tests.devices.camera.scripted import (
    NEUTRAL,
    Actor,
    cooperative,
    machine,
    respond,
    run,
)

L, R, B, M = Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.BLINK, Challenge.MOUTH
PLAN = (L, B, R)


def test_cooperative_person_passes_every_challenge_in_order() -> None:
    decision, keys = run(machine(PLAN), cooperative())
    assert decision.live and decision.reason == "passed"
    assert [c.challenge for c in decision.challenges] == list(PLAN)
    assert all(c.passed and c.tries == 1 for c in decision.challenges)
    prompts = [k for k in keys if k in {"turn_left", "turn_right", "blink", "mouth"}]
    assert prompts == ["turn_left", "blink", "turn_right"]
    assert keys[-1] == "passed"


def test_mouth_challenge_passes() -> None:
    decision, _ = run(machine((B, M, L)), cooperative())
    assert decision.live


@pytest.mark.parametrize("seed", range(40))
def test_plan_always_has_a_turn_and_a_blink(seed: int) -> None:
    plan = plan_challenges(random.Random(seed), allow_mouth=True)
    assert len(plan) == 3 and len(set(plan)) == 3
    assert B in plan and (L in plan or R in plan)


def test_plans_vary_in_order_and_mouth_can_be_disabled() -> None:
    plans = {plan_challenges(random.Random(s), allow_mouth=True) for s in range(200)}
    assert len(plans) > 6  # orders and the third challenge vary
    assert any(M in p for p in plans)
    no_mouth = {plan_challenges(random.Random(s), allow_mouth=False) for s in range(100)}
    assert all(set(p) == {L, R, B} for p in no_mouth)


def test_gaps_are_random_between_prompts() -> None:
    def prompt_times(seed: int) -> list[float]:
        m = LivenessMachine(random.Random(seed), plan=PLAN)
        times: list[float] = []
        act = cooperative()
        prompt: Challenge | None = None
        pt: float | None = None
        for i in range(600):
            t = i / 30
            step = m.feed(replace(NEUTRAL, t=t, **act(prompt, None if pt is None else t - pt, t)))
            if step.guidance and step.guidance.key in {"turn_left", "blink", "turn_right"}:
                prompt, pt = m.current, t
                times.append(t)
            if step.decision:
                break
        return times

    assert prompt_times(1) != prompt_times(2)


def test_still_photo_times_out_after_the_retries() -> None:
    decision, keys = run(machine(PLAN), lambda c, dt, t: {})
    assert not decision.live
    assert decision.reason == "turn_left:timeout"
    assert decision.challenges[0].tries == 3  # one try and two retries
    assert keys.count("retry") == 2


def test_retry_after_a_miss_then_pass() -> None:
    def lazy_first(c: Challenge | None, dt: float | None, t: float) -> dict[str, Any]:
        if c is None or dt is None or t < 5.0:
            return {}  # misses the first prompt (its window ends before 5 s)
        return respond(c, dt)

    decision, _ = run(machine(PLAN), lazy_first)
    assert decision.live
    assert decision.challenges[0].tries == 2
    assert decision.challenges[0].reasons == ("timeout",)


def test_response_under_way_at_the_prompt_is_rejected() -> None:
    # eyes closed from the start of the challenges on: the blink prompt finds them closed
    def closed_eyes_after_gate(c: Challenge | None, dt: float | None, t: float) -> dict[str, Any]:
        if c is None and t > 0.4:
            return {"ear_left": 0.08, "ear_right": 0.08}
        return {"ear_left": 0.08, "ear_right": 0.08} if c is B else {}

    decision, _ = run(machine((B, L, R)), closed_eyes_after_gate)
    assert not decision.live
    assert decision.reason == "blink:early"


def test_response_faster_than_human_reaction_is_rejected() -> None:
    decision, _ = run(machine(PLAN), cooperative(delay=1 / 30))
    assert not decision.live
    assert decision.reason == "turn_left:early"


def test_a_frame_without_a_face_is_tolerated_but_not_three() -> None:
    short = run(machine(PLAN), cooperative(), at=lambda t: {"faces": 0} if 1.0 <= t < 1.06 else {})
    assert short[0].live
    lost = run(machine(PLAN), cooperative(), at=lambda t: {"faces": 0} if 1.0 <= t < 1.1 else {})
    assert not lost[0].live and lost[0].reason == "face_lost"


def test_a_second_face_aborts() -> None:
    decision, _ = run(machine(PLAN), cooperative(), at=lambda t: {"faces": 2} if t > 1.5 else {})
    assert not decision.live and decision.reason == "second_face"


def test_a_jumping_face_box_aborts() -> None:
    far = {"box": (20.0, 120.0, 200.0, 240.0)}
    decision, _ = run(machine(PLAN), cooperative(), at=lambda t: far if t > 1.5 else {})
    assert decision.reason == "face_jump"


def test_face_size_change_aborts() -> None:
    # grows slowly (each frame overlaps the last) until far beyond the baseline size
    def grow(t: float) -> dict[str, Any]:
        if t <= 0.5:
            return {}
        k = min(1.6, 1 + (t - 0.5) * 0.5)
        return {"box": (320 - 100 * k, 240 - 120 * k, 200 * k, 240 * k)}

    decision, _ = run(machine(PLAN), lambda c, dt, t: {}, at=grow)
    assert decision.reason == "face_size"


def test_wrong_direction_fails_the_try() -> None:
    decision, _ = run(machine(PLAN), cooperative(reverse=True))
    assert not decision.live
    assert decision.reason == "turn_left:wrong_direction"
    assert decision.challenges[0].reasons == ("wrong_direction",) * 3


def test_over_long_blink_fails() -> None:
    decision, _ = run(machine((B, L, R)), cooperative(blink_len=1.0))
    assert not decision.live and decision.reason == "blink:long_blink"


def test_flat_photo_turn_with_yaw_but_no_parallax_fails() -> None:
    decision, _ = run(machine(PLAN), cooperative(flat=True))
    assert not decision.live and decision.reason == "turn_left:flat_turn"


def test_turn_with_parallax_but_too_little_yaw_fails() -> None:
    def small(c: Challenge | None, dt: float | None, t: float) -> dict[str, Any]:
        over = {} if c is None or dt is None else respond(c, dt)
        if "yaw" in over:
            over["yaw"] = over["yaw"] / 4
        return over

    decision, _ = run(machine(PLAN), small)
    assert decision.reason == "turn_left:small_turn"


def test_gate_gives_guidance_and_times_out_without_a_face() -> None:
    decision, keys = run(machine(PLAN), lambda c, dt, t: {}, start={"faces": 0, "box": None})
    assert not decision.live and decision.reason == "no_face"
    assert keys[0] == "no_face"


@pytest.mark.parametrize(
    ("start", "key"),
    [
        ({"box": (280.0, 180.0, 80.0, 100.0)}, "come_closer"),
        ({"box": (10.0, 120.0, 200.0, 240.0)}, "centre"),
        ({"yaw": 25.0}, "face_camera"),
        ({"faces": 2}, "one_person"),
        ({"well_lit": False}, "light"),
        ({"ear_left": 0.05, "ear_right": 0.05}, "open_eyes"),
    ],
)
def test_gate_guidance(start: dict[str, Any], key: str) -> None:
    decision, keys = run(machine(PLAN), lambda c, dt, t: {}, start=start)
    assert keys[0] == key
    assert decision.reason == f"gate:{key}"


def test_gate_problems_before_the_gate_do_not_abort() -> None:
    # a second face and a far face during the gate only delay it
    def early_trouble(t: float) -> dict[str, Any]:
        return {"faces": 2} if t < 1.0 else {}

    decision, keys = run(machine(PLAN), cooperative(), at=early_trouble)
    assert decision.live and keys[0] == "one_person"


def test_best_frame_window_is_inside_the_attempt() -> None:
    m = machine(PLAN)
    act: Actor = cooperative()
    seen = []
    prompt: Challenge | None = None
    pt: float | None = None
    for i in range(900):
        t = i / 30
        step = m.feed(replace(NEUTRAL, t=t, **act(prompt, None if pt is None else t - pt, t)))
        seen.append(m.in_session)
        if step.guidance and step.guidance.key in {"turn_left", "blink", "turn_right"}:
            prompt, pt = m.current, t
        if step.decision:
            break
    assert not seen[0] and not seen[-1] and any(seen)


def test_every_guidance_key_has_both_languages() -> None:
    for zh, en in GUIDANCE.values():
        assert zh and en and zh != en
    assert GUIDANCE["turn_left"][0] == "请向左转头"


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.floats(0, 0.6),
            st.floats(-0.5, 0.5),
            st.floats(0, 1),
            st.floats(-40, 40),
        ),
        min_size=1,
        max_size=300,
    ),
    st.integers(0, 2**32 - 1),
)
def test_random_streams_never_crash_and_stay_decided(
    frames: list[tuple[int, float, float, float, float]], seed: int
) -> None:
    m = LivenessMachine(random.Random(seed))
    decided = None
    for i, (faces, ear, nr, par, yaw) in enumerate(frames):
        step = m.feed(
            FrameMetrics(
                t=i / 30,
                faces=faces,
                box=(220.0, 120.0, 200.0, 240.0) if faces else None,
                ear_left=ear,
                ear_right=ear,
                nr=nr,
                parallax=par,
                yaw=yaw,
            )
        )
        if decided is not None:
            assert step.decision == decided
        decided = decided or step.decision
