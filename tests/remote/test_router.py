"""The platform's help router as a pure object: skills, longest-idle choice, priority aging,
lapses, named transfer, assistants lost mid-session, the queue order."""

from __future__ import annotations

from sandbox.assist_router import AGING_S, Notice, Router, Task


def task(tid: str, skill: str = "tax", priority: int = 0, created: float = 0.0) -> Task:
    return Task(tid, "kiosk-1", skill, priority, created, {})


def offers(notices: list[Notice]) -> list[tuple[str, str]]:
    return [(n.to[1], n.message["task"]["id"]) for n in notices if n.message["type"] == "offer"]


def router(*assistants: tuple[str, str]) -> Router:
    r = Router(offer_timeout_s=10, callback_after_s=100)
    for aid, skills in assistants:
        r.add_assistant(aid, aid, frozenset(skills.split(",")))
    return r


def test_the_longest_idle_assistant_with_the_skill_gets_the_offer() -> None:
    r = router(("a", "tax"), ("b", "tax"), ("c", "general"))
    r.set_ready("b", True, 1.0)
    r.set_ready("a", True, 2.0)
    r.set_ready("c", True, 0.5)
    assert offers(r.add_task(task("t1"), 3.0)) == [("b", "t1")]


def test_waiting_raises_priority_so_an_old_request_beats_a_much_newer_urgent_one() -> None:
    # effective priority = priority + waited / AGING_S: a normal request that has waited more
    # than AGING_S longer than an urgent (+1) one goes first; a little less, it does not
    for gap, first in [(AGING_S * 0.5, "urgent"), (AGING_S * 1.5, "old")]:
        r = router(("a", "tax"))
        r.set_ready("a", False, 0.0)  # logged in, away: requests wait
        r.add_task(task("old", created=0.0), 0.0)
        r.add_task(task("urgent", priority=1, created=gap), gap)
        assert r.queue(gap + 1)[0]["id"] == first
        assert offers(r.set_ready("a", True, gap + 1)) == [("a", first)]


def test_priority_order_before_aging_catches_up() -> None:
    r = router(("a", "tax"))
    r.set_ready("a", False, 0.0)
    r.add_task(task("normal", created=0.0), 0.0)
    r.add_task(task("elderly", priority=3, created=10.0), 10.0)
    assert offers(r.set_ready("a", True, 20.0)) == [("a", "elderly")]


def test_a_lapsed_offer_goes_to_the_next_and_the_lapser_is_away() -> None:
    r = router(("a", "tax"), ("b", "tax"))
    r.set_ready("a", True, 0.0)
    r.set_ready("b", True, 1.0)
    assert offers(r.add_task(task("t"), 2.0)) == [("a", "t")]
    assert r.tick(5.0) == []
    out = r.tick(12.0)
    assert [n.message["type"] for n in out] == ["offer_withdrawn", "offer"]
    assert offers(out) == [("b", "t")] and r.assistants["a"].state == "away"


def test_an_assistant_with_no_skill_match_never_gets_it_and_callback_is_offered_once() -> None:
    r = router(("a", "general"), ("b", "tax"))
    r.set_ready("a", True, 0.0)
    r.set_ready("b", False, 0.0)
    r.add_task(task("t"), 0.0)  # b logged in but away: queued
    assert r.tasks["t"].state == "waiting"
    out = r.tick(100.0)
    assert [n.message for n in out] == [{"type": "callback_offer"}]
    assert r.tick(200.0) == []


def test_transfer_to_a_named_assistant_and_loss_mid_session() -> None:
    r = router(("a", "tax"), ("b", "tax"), ("c", "tax"))
    for i, aid in enumerate("abc"):
        r.set_ready(aid, True, float(i))
    r.add_task(task("t"), 5.0)
    r.accept("a", "t", 5.0)
    out = r.transfer("a", None, "c", 6.0)
    assert offers(out) == [("c", "t")]  # not b, although b was idle longer
    r.accept("c", "t", 6.5)
    out = r.disconnect("c", 7.0)
    kinds = [(n.to, n.message["type"]) for n in out]
    assert (("kiosk", "t"), "transferring") in kinds
    assert offers(out) == [("b", "t")]  # a transferred it away, c is gone
    assert r.assistants["c"].state == "offline"


def test_accepting_an_offer_that_is_gone_is_an_error() -> None:
    r = router(("a", "tax"), ("b", "tax"))
    r.set_ready("a", True, 0.0)
    r.add_task(task("t"), 0.0)
    (n,) = r.accept("b", "t", 1.0)
    assert n.message == {"type": "error", "error": "offer_gone"}
    r.cancel_task("t", 2.0, "kiosk_ended")
    assert r.assistants["a"].state == "free"
    (n,) = r.accept("a", "t", 3.0)
    assert n.message["error"] == "offer_gone"
