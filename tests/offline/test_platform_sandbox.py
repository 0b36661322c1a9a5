"""The client, outbox, sender and catalogue cache against the REAL sandbox process on loopback.

The sandbox is started (and stopped by PID) through tests/sandbox_process.py; nothing here
imports ``sandbox``. Counts of cases are read from the sandbox's own admin stats.
"""

from __future__ import annotations

import io
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.logs import JsonFormatter
from offline.catalog_cache import CatalogCache
from offline.client import PlatformClient, RetryPolicy
from offline.errors import (
    PlatformAuthError,
    PlatformConflictError,
    PlatformRejectedError,
    PlatformUnavailableError,
    PlatformValidationError,
)
from offline.link import LinkState, LinkStateChanged
from offline.outbox import (
    ItemDead,
    ItemDelivered,
    ItemState,
    Outbox,
    OutboxEvent,
    WindowStateChanged,
)
from offline.sealing import KeyRing
from offline.sender import Sender
from tests.offline.synthetic import case_payload
from tests.sandbox_process import SandboxProcess, fault_rule, sandbox_fixture

sandbox = sandbox_fixture(scope="module")


@pytest.fixture
def sb(sandbox: SandboxProcess) -> Iterator[SandboxProcess]:
    sandbox.clear_faults()
    try:
        yield sandbox
    finally:
        sandbox.clear_faults()


def wait_until(cond: Callable[[], bool], limit_s: float = 20.0) -> bool:
    """Poll ``cond`` until true; a generous bound, not a timing assertion."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def make_client(sb: SandboxProcess, **kw: Any) -> PlatformClient:
    kw.setdefault("retry", RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05))
    kw.setdefault("probe_interval_s", 0.1)
    kw.setdefault("timeout_s", 5.0)
    return PlatformClient(
        sb.url, kw.pop("kiosk_id", sb.kiosk_id), kw.pop("secret", sb.secret), **kw
    )


def case(sb: SandboxProcess, rng: random.Random, **kw: Any) -> dict[str, Any]:
    p = case_payload(rng, **kw)
    p["kiosk_id"] = sb.kiosk_id
    return p


@dataclass
class Stack:
    client: PlatformClient
    outbox: Outbox
    sender: Sender
    events: list[OutboxEvent]
    links: list[LinkStateChanged]


@pytest.fixture
def stack(sb: SandboxProcess, tmp_path: Path) -> Iterator[Stack]:
    client = make_client(sb, retry=RetryPolicy(attempts=1))
    outbox = Outbox(
        tmp_path / "outbox.sqlite3",
        KeyRing.load_or_create(tmp_path / "outbox.key"),
        max_pending=5,
        min_free_mb=0,
    )
    events: list[OutboxEvent] = []
    links: list[LinkStateChanged] = []
    outbox.add_listener(events.append)
    client.link.add_listener(links.append)
    sender = Sender(outbox, client, workers=4, retry_base_s=0.05, retry_cap_s=0.3, tick_s=0.05)
    try:
        yield Stack(client, outbox, sender, events, links)
    finally:
        sender.stop()
        client.close()
        outbox.close()


# -- signing ----------------------------------------------------------------------------


def test_signed_calls_are_accepted_and_typed(sb: SandboxProcess) -> None:
    client = make_client(sb)
    try:
        assert client.health().status == "ok"
        fetch = client.catalog()
        assert fetch.catalog is not None and fetch.catalog.items
        assert fetch.etag
        assert client.catalog(fetch.etag).not_modified
        receipt = client.submit_case(case(sb, random.Random(7)), "sign-test-0001")
        status = client.case_status(receipt.case_number)
        assert status.case_number == receipt.case_number and status.item_code == "YJS-0009"
        holder = sb.holders()[0]
        # A query string is part of the signature (GET /licences?holder=…).
        assert client.licences(holder["id_number"]).licences is not None
        assert client.link.state == LinkState.ONLINE
    finally:
        client.close()


def test_clock_skew_is_a_typed_auth_error(sb: SandboxProcess) -> None:
    client = make_client(sb, clock=lambda: time.time() - 1000)
    try:
        with pytest.raises(PlatformAuthError) as info:
            client.catalog()
        assert info.value.auth_reason == "stale_timestamp"
        # A refusal is an answer: the link is up, it is this kiosk that is wrong.
        assert client.link.state == LinkState.ONLINE
    finally:
        client.close()


def test_a_replayed_nonce_is_a_typed_auth_error(sb: SandboxProcess) -> None:
    fixed = "replay-" + "x" * 20 + str(random.randint(0, 10**9))
    client = make_client(sb, nonce_factory=lambda: fixed)
    try:
        client.catalog()
        with pytest.raises(PlatformAuthError) as info:
            client.catalog()
        assert info.value.auth_reason == "replayed_nonce"
    finally:
        client.close()


@pytest.mark.parametrize(
    ("kiosk_id", "secret", "reason"),
    [(None, "wrong-secret", "bad_signature"), ("kiosk-nobody", "x", "unknown_kiosk")],
)
def test_bad_credentials(
    sb: SandboxProcess, kiosk_id: str | None, secret: str, reason: str
) -> None:
    client = make_client(sb, kiosk_id=kiosk_id or sb.kiosk_id, secret=secret)
    try:
        with pytest.raises(PlatformAuthError) as info:
            client.catalog()
        assert info.value.auth_reason == reason
    finally:
        client.close()


def test_validation_and_conflict_are_typed(sb: SandboxProcess) -> None:
    client = make_client(sb)
    rng = random.Random(3)
    try:
        with pytest.raises(PlatformValidationError) as info:
            client.submit_case(case(sb, rng, item_code="NO-SUCH-ITEM"), "valid-test-0001")
        assert any("item_code" in f.loc for f in info.value.fields)
        client.submit_case(case(sb, rng), "conflict-test-01")
        with pytest.raises(PlatformConflictError):
            client.submit_case(case(sb, rng), "conflict-test-01")
    finally:
        client.close()


# -- idempotency ------------------------------------------------------------------------


def test_lost_answers_never_create_a_second_case(sb: SandboxProcess) -> None:
    """The platform stores the case, then drops the connection: the client retries with the
    same Idempotency-Key and gets the same case back."""
    client = make_client(sb, retry=RetryPolicy(attempts=5, base_s=0.01, cap_s=0.02))
    before = sb.stats()["cases"]
    sb.set_faults([fault_rule("/api/v1/cases", method="POST", drop_after_rate=0.6)])
    rng = random.Random(11)
    receipts = []
    try:
        for n in range(15):
            body = case(sb, rng)
            # Each try may be lost (p = 0.6), and once the link is marked offline a call is
            # tried only once: allow enough tries that losing them all (0.6**60) never
            # happens; the idempotency key makes every repeat safe.
            for _ in range(60):
                try:
                    receipts.append(client.submit_case(body, f"lost-answer-{n:04d}"))
                    break
                except PlatformUnavailableError:
                    continue
    finally:
        client.close()
    assert len(receipts) == 15
    assert sb.stats()["injected_drops"] > 0
    assert sb.stats()["cases"] - before == 15
    assert len({r.case_number for r in receipts}) == 15


def test_outbox_delivers_exactly_once_through_drops(sb: SandboxProcess, stack: Stack) -> None:
    before = sb.stats()["cases"]
    sb.set_faults([fault_rule("/api/v1/cases", method="POST", drop_after_rate=0.5)])
    rng = random.Random(5)
    ids = [stack.outbox.enqueue("case", f"sess-{n % 4}", case(sb, rng)) for n in range(20)]
    stack.sender.start()
    assert wait_until(lambda: stack.outbox.counts()["delivered"] == 20, 60)
    assert sb.stats()["cases"] - before == 20
    keys = {stack.outbox.get(i).idempotency_key for i in ids}
    stored = [c for c in sb.cases() if c["idempotency_key"] in keys]
    assert len(stored) == 20
    numbers = {stack.outbox.get(i).result["case_number"] for i in ids}  # type: ignore[index]
    assert numbers == {c["case_number"] for c in stored}
    assert any(stack.outbox.get(i).attempts > 1 for i in ids)  # drops did happen


def test_items_of_a_session_arrive_in_order(sb: SandboxProcess, stack: Stack) -> None:
    rng = random.Random(8)
    sb.set_faults([fault_rule("/api/v1/cases", method="POST", error_rate=0.4)])
    session_of: dict[str, tuple[str, int]] = {}  # idempotency key -> (session, item id)
    for n in range(15):
        session = f"order-{n % 3}"
        item_id = stack.outbox.enqueue("case", session, case(sb, rng))
        session_of[stack.outbox.get(item_id).idempotency_key] = (session, item_id)
    stack.sender.start()
    assert wait_until(lambda: stack.outbox.counts()["delivered"] == 15, 60)
    # /admin/cases lists the platform's cases in the order they were stored.
    arrived = [
        session_of[c["idempotency_key"]] for c in sb.cases() if c["idempotency_key"] in session_of
    ]
    assert len(arrived) == 15
    for session in {s for s, _ in arrived}:
        ids = [i for s, i in arrived if s == session]
        assert ids == sorted(ids)
    assert sb.stats()["injected_errors"] > 0


# -- outage, recovery, dead letters, window --------------------------------------------


def test_outage_and_recovery(sb: SandboxProcess, stack: Stack) -> None:
    before = sb.stats()["cases"]
    rng = random.Random(9)
    delivered = threading.Event()
    stack.outbox.add_listener(
        lambda ev: (
            delivered.set()
            if isinstance(ev, ItemDelivered) and stack.outbox.counts()["delivered"] == 4
            else None
        )
    )
    stack.sender.start()
    stack.outbox.enqueue("case", "warm", case(sb, rng))
    assert wait_until(lambda: stack.client.link.state == LinkState.ONLINE)
    sb.set_faults(outage=True)
    for n in range(3):
        stack.outbox.enqueue("case", f"out-{n}", case(sb, rng))
    assert wait_until(lambda: stack.client.link.state == LinkState.OFFLINE)
    assert stack.outbox.counts()["pending"] == 3
    sb.clear_faults()
    assert delivered.wait(20)
    assert [e.state for e in stack.links] == [LinkState.ONLINE, LinkState.OFFLINE, LinkState.ONLINE]
    assert sb.stats()["cases"] - before == 4
    results = [e.result for e in stack.events if isinstance(e, ItemDelivered)]
    assert all(str(r["case_number"]).startswith("JN") for r in results)


def test_poison_items_go_to_dead_letters_without_blocking(sb: SandboxProcess, stack: Stack) -> None:
    rng = random.Random(10)
    bad = stack.outbox.enqueue("case", "poisoned", case(sb, rng, item_code="NO-SUCH-ITEM"))
    after_bad = stack.outbox.enqueue("case", "poisoned", case(sb, rng))
    others = [stack.outbox.enqueue("case", f"fine-{n}", case(sb, rng)) for n in range(3)]
    stack.sender.start()
    assert wait_until(lambda: stack.outbox.counts()["delivered"] == 4)
    dead = stack.outbox.get(bad)
    assert dead.state == ItemState.DEAD
    assert (
        dead.last_error is not None and "422" in dead.last_error and "item_code" in dead.last_error
    )
    assert stack.outbox.get(after_bad).state == ItemState.DELIVERED
    assert all(stack.outbox.get(i).state == ItemState.DELIVERED for i in others)
    assert [e.item_id for e in stack.events if isinstance(e, ItemDead)] == [bad]
    assert dead.attempts == 1  # a 4xx is not retried


def test_bounded_window_closes_offline_and_reopens(sb: SandboxProcess, stack: Stack) -> None:
    rng = random.Random(12)
    sb.set_faults(outage=True)
    stack.sender.start()
    for n in range(6):  # max_pending is 5
        stack.outbox.enqueue("case", f"win-{n}", case(sb, rng))
    assert wait_until(lambda: any(isinstance(e, WindowStateChanged) for e in stack.events))
    closed = stack.outbox.accepting_submissions()
    assert not closed.accepting and "6 items wait" in (closed.reason or "")
    sb.clear_faults()
    assert wait_until(lambda: stack.outbox.accepting_submissions().accepting, 30)
    windows = [e.status.accepting for e in stack.events if isinstance(e, WindowStateChanged)]
    assert wait_until(
        lambda: (
            [e.status.accepting for e in stack.events if isinstance(e, WindowStateChanged)]
            == [False, True]
        )
    ), windows


def test_key_rotation_between_items(sb: SandboxProcess, stack: Stack) -> None:
    rng = random.Random(13)
    first = stack.outbox.enqueue("case", "rot", case(sb, rng))
    stack.outbox.keyring.rotate()
    second = stack.outbox.enqueue("case", "rot", case(sb, rng))
    assert stack.outbox.get(first).key_id != stack.outbox.get(second).key_id
    stack.sender.start()
    assert wait_until(lambda: stack.outbox.counts()["delivered"] == 2)


# -- catalogue cache --------------------------------------------------------------------


def test_catalogue_cache_etag_and_offline_start(sb: SandboxProcess, tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    client = make_client(sb)
    try:
        cache = CatalogCache(path, client)
        first = cache.refresh()
        assert first.changed and first.snapshot is not None
        assert path.exists()
        second = cache.refresh()
        assert not second.changed and second.error is None  # 304 Not Modified
        assert second.snapshot is not None and second.snapshot.etag == first.snapshot.etag
    finally:
        client.close()
    # A kiosk that starts with the platform unreachable shows the cached catalogue.
    offline = PlatformClient("http://127.0.0.1:9", "k", "s", retry=RetryPolicy(attempts=1))
    try:
        cold = CatalogCache(path, offline)
        result = cold.refresh()
        assert isinstance(result.error, PlatformUnavailableError)
        assert result.snapshot is not None and result.snapshot.source == "cache"
        assert result.snapshot.catalog == first.snapshot.catalog
        assert cold.catalog is not None and len(cold.catalog.items) == len(
            first.snapshot.catalog.items
        )
    finally:
        offline.close()


def test_evaluations_and_audit_batches_are_delivered(sb: SandboxProcess, stack: Stack) -> None:
    before = sb.stats()
    evaluation = {
        "case_number": None,
        "item_code": "YJS-0009",
        "satisfaction": 5,
        "code_order": "five_is_best",
        "reasons": ["501"],
        "comment": "",
        "channel": "5",
        "assessed_at": "2026-11-28T10:05:00+08:00",
    }
    audit = {"events": [{"type": "session_started", "at": "2026-11-28T10:00:00+08:00"}]}
    ev_id = stack.outbox.enqueue("evaluation", "mixed", evaluation)
    au_id = stack.outbox.enqueue("audit", "mixed", audit)
    stack.sender.start()
    assert wait_until(lambda: stack.outbox.counts()["delivered"] == 2)
    after = sb.stats()
    assert after["evaluations"] - before["evaluations"] == 1
    assert after["audit_events"] - before["audit_events"] == 1
    assert stack.outbox.get(ev_id).result["level"] == "非常满意"  # type: ignore[index]
    assert stack.outbox.get(au_id).result["http_status"] == 202  # type: ignore[index]


def test_auth_failures_keep_items_pending(sb: SandboxProcess, tmp_path: Path) -> None:
    """A 401 is the kiosk's problem (clock, secret), not the item's: no dead letter."""
    client = make_client(sb, secret="not-the-secret", retry=RetryPolicy(attempts=1))
    outbox = Outbox(tmp_path / "o.sqlite3", KeyRing.load_or_create(tmp_path / "o.key"))
    sender = Sender(outbox, client, retry_base_s=0.05, retry_cap_s=0.1, tick_s=0.05)
    try:
        item_id = outbox.enqueue("case", "auth", case(sb, random.Random(14)))
        sender.start()
        assert wait_until(lambda: outbox.get(item_id).attempts >= 2)
        item = outbox.get(item_id)
        assert item.state == ItemState.PENDING
        assert item.last_error == "HTTP 401 bad_signature"
    finally:
        sender.stop()
        client.close()
        outbox.close()


def test_no_personal_data_reaches_the_log(sb: SandboxProcess, stack: Stack) -> None:
    """Outage, retries, a dead letter and deliveries, all logged at DEBUG through the
    project's JSON formatter: no applicant's ID number, name or phone appears."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    rng = random.Random(15)
    payloads = [case(sb, rng) for _ in range(3)] + [case(sb, rng, item_code="NO-SUCH-ITEM")]
    try:
        sb.set_faults(outage=True)
        for n, p in enumerate(payloads):
            stack.outbox.enqueue("case", f"log-{n}", p)
        stack.sender.start()
        assert wait_until(lambda: stack.client.link.state == LinkState.OFFLINE)
        sb.clear_faults()
        assert wait_until(lambda: stack.outbox.counts()["pending"] == 0)
        # the dead letter's log line follows its commit: wait for it, not just for the count
        assert wait_until(lambda: "dead letters" in stream.getvalue())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert "platform link lost" in text and "dead letters" in text  # it did log
    for p in payloads:
        for value in (p["applicant"]["id_number"], p["applicant"]["name"], p["applicant"]["phone"]):
            assert value not in text


def test_certificates_and_invoice_check_are_typed(sb: SandboxProcess) -> None:
    client = make_client(sb)
    try:
        holder = sb.holders()[0]
        issued = client.certificate(
            "ZZ-0002", id_number=holder["id_number"], params={"from_year": "2023"}
        )
        assert issued.title == "住房公积金缴存证明" and issued.document_ref
        pdf = client.document_pdf(issued.document_ref)
        assert pdf.startswith(b"%PDF")
        by_ref = client.certificate("ZZ-0003", holder_ref=holder["holder_ref"])
        assert by_ref.document_ref != issued.document_ref
        with pytest.raises(PlatformValidationError) as info:
            client.certificate("YJS-0009", id_number=holder["id_number"])
        assert info.value.fields[0].loc[-1] == "item_code"
        with pytest.raises(PlatformRejectedError) as missing:
            client.document_pdf("doc-unknown")
        assert missing.value.status_code == 404
        assert client.check_invoice("037002100222", amount="2580.00").result == "consistent"
        assert client.check_invoice("037002100222", amount="1.00").result == "inconsistent"
        assert client.check_invoice("000000000000").result == "not_found"
    finally:
        client.close()
