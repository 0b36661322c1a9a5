"""The outbox on its own: durability settings, sealing at rest, ordering, window, purge."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from offline.errors import OutboxError, OutboxKeyError, QueueItemNotFoundError
from offline.outbox import ItemDead, ItemDelivered, ItemState, Outbox, OutboxEvent
from offline.sealing import KeyRing
from tests.offline.synthetic import case_payload


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock | None = None, **kw: float) -> Outbox:
    ring = KeyRing.load_or_create(tmp_path / "outbox.key")
    return Outbox(tmp_path / "outbox.sqlite3", ring, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def test_wal_and_full_sync(tmp_path: Path) -> None:
    box = make(tmp_path)
    try:
        assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        box.close()


def test_round_trip_and_no_plaintext_on_disk(tmp_path: Path) -> None:
    box = make(tmp_path)
    rng = random.Random(1)
    payloads = [case_payload(rng) for _ in range(20)]
    ids = [box.enqueue("case", f"s{i}", p) for i, p in enumerate(payloads)]
    assert [box.payload(i) for i in ids] == payloads
    box.close()
    raw = b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("outbox.sqlite3")
    )
    for p in payloads:
        for secret in (p["applicant"]["id_number"], p["applicant"]["phone"], p["form"]["address"]):
            assert secret.encode() not in raw
        assert p["applicant"]["name"].encode() not in raw
        assert p["applicant"]["id_number"].encode("utf-16-le") not in raw
    assert b"YJS-0009" not in raw  # the whole payload is sealed, not only its personal fields


def test_the_same_idempotency_key_is_one_item(tmp_path: Path) -> None:
    box = make(tmp_path)
    try:
        first = box.enqueue("case", "s", {"a": 1}, idempotency_key="key-00000001")
        assert box.enqueue("case", "s", {"a": 1}, idempotency_key="key-00000001") == first
        with pytest.raises(OutboxError, match="already used"):
            box.enqueue("case", "s", {"a": 2}, idempotency_key="key-00000001")
        assert box.counts()["pending"] == 1
    finally:
        box.close()


@pytest.mark.parametrize(
    ("kind", "session", "key", "payload", "match"),
    [
        ("Case!", "s", None, {}, "kind"),
        ("case", "", None, {}, "session"),
        ("case", "s", "short", {}, "idempotency key"),
        ("case", "s", None, {"x": object()}, "JSON"),
    ],
)
def test_bad_items_are_refused(
    tmp_path: Path, kind: str, session: str, key: str | None, payload: dict[str, object], match: str
) -> None:
    box = make(tmp_path)
    try:
        with pytest.raises(OutboxError, match=match):
            box.enqueue(kind, session, payload, idempotency_key=key)
    finally:
        box.close()


def test_heads_keep_each_session_in_order(tmp_path: Path) -> None:
    clock = Clock()
    box = make(tmp_path, clock)
    try:
        a1 = box.enqueue("case", "A", {"n": 1})
        b1 = box.enqueue("case", "B", {"n": 1})
        a2 = box.enqueue("evaluation", "A", {"n": 2})
        assert [i.id for i in box.due_heads(clock.now, limit=10)] == [a1, b1]
        # A's head backs off: A waits (its second item is not sent ahead of it), B does not.
        box.mark_retry(box.get(a1), "HTTP 503", clock.now + 60)
        assert [i.id for i in box.due_heads(clock.now, limit=10)] == [b1]
        box.mark_delivered(box.get(b1), {"case_number": "JN1"})
        assert box.due_heads(clock.now, limit=10) == []
        clock.now += 61
        assert [i.id for i in box.due_heads(clock.now, limit=10)] == [a1]
        # A dead head does not block the rest of its session.
        box.mark_dead(box.get(a1), "HTTP 422: item_code")
        assert [i.id for i in box.due_heads(clock.now, limit=10)] == [a2]
    finally:
        box.close()


def test_events_and_states(tmp_path: Path) -> None:
    box = make(tmp_path)
    events: list[OutboxEvent] = []
    box.add_listener(events.append)
    try:
        one = box.get(box.enqueue("case", "s", {"x": 1}))
        two = box.get(box.enqueue("case", "t", {"x": 2}))
        box.mark_delivered(one, {"case_number": "JN9"})
        box.mark_dead(two, "HTTP 409: conflict")
        box.mark_dead(two, "again")  # already dead: no second event
        assert events == [
            ItemDelivered(one.id, "case", "s", {"case_number": "JN9"}),
            ItemDead(two.id, "case", "t", "HTTP 409: conflict"),
        ]
        assert box.get(one.id).state == ItemState.DELIVERED
        assert box.get(one.id).result == {"case_number": "JN9"}
        dead = box.get(two.id)
        assert (dead.state, dead.last_error) == (ItemState.DEAD, "HTTP 409: conflict")
        assert box.retry(two.id).state == ItemState.PENDING
        with pytest.raises(OutboxError, match="already delivered"):
            box.retry(one.id)
        with pytest.raises(QueueItemNotFoundError):
            box.get(999)
    finally:
        box.close()


def test_bounded_window(tmp_path: Path) -> None:
    clock = Clock()
    box = make(tmp_path, clock, max_pending=3, max_age_hours=2, min_free_mb=0)
    try:
        assert box.accepting_submissions().accepting
        for n in range(3):
            box.enqueue("case", f"s{n}", {"n": n})
        assert box.accepting_submissions().accepting  # 3 pending is not more than 3
        box.enqueue("case", "s3", {"n": 3})
        status = box.accepting_submissions()
        assert not status.accepting and "4 items wait" in (status.reason or "")
        for item in box.items(state=ItemState.PENDING, limit=2, newest_first=False):
            box.mark_delivered(item, {})
        assert box.accepting_submissions().accepting
        clock.now += 2 * 3600 + 1
        status = box.accepting_submissions()
        assert not status.accepting and "old" in (status.reason or "")
        box.min_free_mb = 10**12  # more than any disk has
        assert any("free on disk" in r for r in box.accepting_submissions().reasons)
    finally:
        box.close()


def test_window_events_fire_on_change_only(tmp_path: Path) -> None:
    box = make(tmp_path, max_pending=1, min_free_mb=0)
    events: list[OutboxEvent] = []
    box.add_listener(events.append)
    try:
        box.check_window()
        assert events == []  # open at start: nothing to say
        box.enqueue("case", "a", {})
        box.enqueue("case", "b", {})
        box.check_window()
        box.check_window()
        assert len(events) == 1 and not events[0].status.accepting  # type: ignore[union-attr]
        for item in box.items(state=ItemState.PENDING):
            box.mark_delivered(item, {})
        box.check_window()
        assert len(events) == 4 and events[3].status.accepting  # type: ignore[union-attr]
    finally:
        box.close()


def test_purge_after_retention(tmp_path: Path) -> None:
    clock = Clock()
    box = make(tmp_path, clock, retention_hours=1)
    try:
        old = box.get(box.enqueue("case", "s", {}))
        dead = box.get(box.enqueue("case", "t", {}))
        box.mark_delivered(old, {})
        box.mark_dead(dead, "HTTP 422")
        clock.now += 1800
        assert box.purge() == 0
        clock.now += 1801
        assert box.purge() == 1  # the delivered one; dead letters stay for a technician
        assert box.purge(include_dead=True) == 1
        assert box.counts() == {"pending": 0, "delivered": 0, "dead": 0}
    finally:
        box.close()


def test_rows_sealed_with_a_lost_key_are_reported(tmp_path: Path) -> None:
    box = make(tmp_path)
    box.enqueue("case", "s", {"x": 1})
    box.close()
    (tmp_path / "outbox.key").unlink()
    with pytest.raises(OutboxKeyError, match="restore the key file"):
        make(tmp_path)


def test_rotation_old_rows_still_open(tmp_path: Path) -> None:
    box = make(tmp_path)
    try:
        first = box.enqueue("case", "s", {"v": "old"})
        old_key = box.keyring.current_id
        box.keyring.rotate()
        second = box.enqueue("case", "s", {"v": "new"})
        assert box.get(first).key_id == old_key
        assert box.get(second).key_id == box.keyring.current_id != old_key
        assert box.payload(first) == {"v": "old"} and box.payload(second) == {"v": "new"}
        assert box.used_key_ids() == {old_key, box.keyring.current_id}
    finally:
        box.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    make(tmp_path).close()
    db = sqlite3.connect(tmp_path / "outbox.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(OutboxError, match="schema version 99"):
        make(tmp_path)


def test_heads_beyond_a_long_session_are_found(tmp_path: Path) -> None:
    """One session with many items queued first must not hide the other sessions' heads."""
    clock = Clock()
    box = make(tmp_path, clock)
    try:
        first = box.enqueue("case", "long", {"n": 0})
        for n in range(1, 100):
            box.enqueue("case", "long", {"n": n})
        late = [box.enqueue("case", f"late-{n}", {"n": n}) for n in range(3)]
        heads = box.due_heads(clock.now, limit=4, scan=16)
        assert [h.id for h in heads] == [first, *late]
        heads = box.due_heads(clock.now, limit=4, busy=frozenset({"long"}), scan=16)
        assert [h.id for h in heads] == late
    finally:
        box.close()
