"""Audit chains a killed kiosk left on disk (docs/remote-help.md §4): the next start queues
them in the outbox and the real sandbox receives them once. The chain files are written by
the real protocol and audit file, exactly as a session killed mid-help leaves them (no
``end`` record, no ``.queued`` marker); a crash in the middle of an append leaves a torn
last line, and an edited record breaks the chain: only the verified part goes up, with a
recovery event saying where and why it stops."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.schema import Settings
from kiosk.remote import audit, masking
from kiosk.remote.envelope import Envelope, encode
from kiosk.remote.protocol import KioskProtocol
from kiosk.runtime import Runtime
from offline.client import PlatformClient
from offline.outbox import ItemDead, ItemDelivered, Outbox, OutboxEvent
from offline.sealing import KeyRing
from offline.sender import Sender
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")
WAIT_S = 30.0


def killed_session(audit_dir: Path, *, end: bool = False) -> tuple[str, Path]:
    """A help session's chain as the kiosk writes it: joined, consent for ``fill``, one field
    filled; then the process dies (``end=False``) or the session ends normally."""
    sid = "rh-" + uuid.uuid4().hex[:20]
    audit_dir.mkdir(parents=True, exist_ok=True)
    path = audit_dir / f"{sid}.jsonl"
    proto = KioskProtocol(sid, masking.AllowList(), audit.AuditFile(path))
    proto.view_changed(view(field("amount")), 1.0)
    proto.assistant_joined(2.0)

    def assistant(seq: int, mtype: str, body: dict[str, Any], base: bool = False) -> None:
        env = Envelope(
            sid, "assistant", seq, f"a-{seq}", mtype, body, base_rev=proto.rev if base else None
        )
        proto.receive(encode(env), 3.0 + seq)

    assistant(1, "consent.request", {"scopes": ["fill"]})
    proto.grant({"fill"}, 5.0)
    assistant(2, "intent.field", {"field": "amount", "value": "128.50"}, base=True)
    if end:
        proto.end("citizen", 9.0)
    records = audit.load(path)
    assert any(r["event"] == "intent.applied" for r in records)  # a real session's chain
    assert not path.with_suffix(audit.QUEUED_SUFFIX).exists()
    return sid, path


def platform_events(sb: SandboxProcess, sid: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sb.admin("GET", f"/admin/audit-events?session_id={sid}")
    return events


def wait_for_events(sb: SandboxProcess, sid: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_S
    events = platform_events(sb, sid)
    while len(events) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        events = platform_events(sb, sid)
    assert len(events) >= n, f"{len(events)} of {n} events reached the platform"
    return events


def split(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chain records, recovery notices) of a session's platform events."""
    chain = [e["data"] for e in events if e["type"] == audit.UPLOAD_TYPE]
    notices = [e["data"] for e in events if e["type"] == audit.RECOVERY_TYPE]
    assert len(chain) + len(notices) == len(events)
    return chain, notices


def settings_for(sb: SandboxProcess, workdir: Path) -> Settings:
    return Settings.model_validate(
        {
            "kiosk_id": sb.kiosk_id,
            "platform": {
                "url": sb.url,
                "kiosk_id": sb.kiosk_id,
                "secret_file": str(sb.secret_file),
                "timeout_s": 5.0,
                "probe_interval_s": 1.0,
                "heartbeat_s": 2.0,
            },
            "outbox": {
                "path": str(workdir / "outbox.sqlite3"),
                "key_file": str(workdir / "outbox.key"),
                "min_free_mb": 0,
            },
            "logging": {"dir": str(workdir / "log")},
        }
    )


class Delivery:
    """A real outbox and sender against the sandbox; ``delivered(n)`` waits for n outcomes."""

    def __init__(self, sb: SandboxProcess, path: Path) -> None:
        self.outbox = Outbox(path, KeyRing.load_or_create(path.with_suffix(".key")), min_free_mb=0)
        self.events: queue.Queue[OutboxEvent] = queue.Queue()
        self.outbox.add_listener(self.events.put)
        self.client = PlatformClient(sb.url, sb.kiosk_id, sb.secret, timeout_s=10)
        self.sender = Sender(
            self.outbox, self.client, retry_base_s=0.05, retry_cap_s=0.3, tick_s=0.05
        )
        self.sender.start()

    def delivered(self, n: int) -> list[ItemDelivered]:
        got: list[ItemDelivered] = []
        while len(got) < n:
            event = self.events.get(timeout=WAIT_S)
            assert not isinstance(event, ItemDead), event
            if isinstance(event, ItemDelivered):
                got.append(event)
        return got

    def close(self) -> None:
        self.sender.stop()
        self.client.close()
        self.outbox.close()


@pytest.fixture
def delivery(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[Delivery]:
    d = Delivery(sandbox, tmp_path / "outbox.sqlite3")
    try:
        yield d
    finally:
        d.close()


def test_the_next_start_uploads_a_killed_sessions_chain_once(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path / "kiosk")
    posted: queue.Queue[object] = queue.Queue()
    first = Runtime(settings, posted.put)
    sid, path = killed_session(first.help_audit_dir)
    records = audit.load(path)
    first.start()
    try:
        events = wait_for_events(sandbox, sid, len(records) + 1)
    finally:
        first.stop()
    chain, notices = split(events)
    assert chain == records  # the platform's copy is the kiosk's chain, whole and verifiable
    audit.verify(chain)
    assert {e["kiosk_id"] for e in events} == {sandbox.kiosk_id}
    n = len(records)
    assert notices == [{"records": n, "lines": n, "ended": False, "torn": False, "break": None}]
    assert path.with_suffix(audit.QUEUED_SUFFIX).exists()
    assert path.exists()  # the local copy stays

    second = Runtime(settings, posted.put)
    second.start()
    try:
        counts = second.outbox.counts()
        assert counts == {"pending": 0, "delivered": 2, "dead": 0}, counts  # no new items
    finally:
        second.stop()
    assert platform_events(sandbox, sid) == events


def test_a_chain_handed_over_twice_is_not_duplicated(
    sandbox: SandboxProcess, delivery: Delivery, tmp_path: Path
) -> None:
    """The session ended and queued its chain, and the kiosk died before the marker was
    written: the next start hands the same chain over again."""
    audit_dir = tmp_path / "remote-help"
    sid, path = killed_session(audit_dir, end=True)
    records = audit.load(path)
    # what the session end does (kiosk.remote.client.RemoteHelp._upload_audit), minus the mark
    ids = audit.queue_chain(delivery.outbox, sid, records, audit.file_time(path))
    delivery.delivered(len(ids))

    (again,) = audit.recover_leftovers(audit_dir, delivery.outbox)
    assert again.sid == sid and again.summary["ended"] and again.summary["break"] is None
    assert delivery.outbox.counts()["delivered"] == len(ids)  # the outbox knew the items
    assert not delivery.outbox.counts()["pending"]

    # worse: the outbox has purged them (or was rebuilt), so they really go out again
    path.with_suffix(audit.QUEUED_SUFFIX).unlink()
    fresh = Delivery(sandbox, tmp_path / "fresh" / "outbox.sqlite3")
    try:
        (third,) = audit.recover_leftovers(audit_dir, fresh.outbox)
        assert third.sid == sid
        # the platform answers the repeat with what it has (a 409 would be a dead letter)
        assert fresh.delivered(len(ids))
    finally:
        fresh.close()
    events = platform_events(sandbox, sid)
    chain, notices = split(events)
    assert chain == records and not notices  # once, and no recovery event: it was whole
    assert audit.recover_leftovers(audit_dir, delivery.outbox) == []


def test_a_torn_last_line_is_left_out(
    sandbox: SandboxProcess, delivery: Delivery, tmp_path: Path
) -> None:
    """The kiosk died in the middle of an append: the partial record is not uploaded."""
    audit_dir = tmp_path / "remote-help"
    sid, path = killed_session(audit_dir)
    records = audit.load(path)
    torn = audit.AuditChain(records).append(
        ts=20.0, sid=sid, actor="citizen", event="citizen.stop", data={"scopes": ["fill"]}
    )
    with path.open("ab") as f:
        f.write(audit.canonical(torn)[:57])
    with pytest.raises(audit.AuditChainError):
        audit.load(path)

    (got,) = audit.recover_leftovers(audit_dir, delivery.outbox)
    n = len(records)
    summary = {
        "records": n,
        "lines": n + 1,
        "ended": False,
        "torn": True,
        "break": {"index": n, "reason": "not_json"},
    }
    assert (got.sid, got.summary) == (sid, summary)
    delivery.delivered(2)
    chain, notices = split(platform_events(sandbox, sid))
    assert chain == records
    audit.verify(chain)
    assert notices == [summary]
    assert audit.recover_leftovers(audit_dir, delivery.outbox) == []
    assert delivery.outbox.counts() == {"pending": 0, "delivered": 2, "dead": 0}


def test_a_broken_chain_uploads_only_what_verifies(tmp_path: Path) -> None:
    """A record edited in the middle: the records before it go up, the rest does not (it
    cannot be linked), the break is reported, and the file stays on disk as evidence."""
    audit_dir = tmp_path / "remote-help"
    sid, path = killed_session(audit_dir, end=True)
    records = audit.load(path)
    lines = path.read_bytes().splitlines(keepends=True)
    edited = dict(records[2], actor="assistant")
    lines[2] = audit.canonical(edited) + b"\n"
    path.write_bytes(b"".join(lines))
    outbox = Outbox(tmp_path / "o.sqlite3", KeyRing.load_or_create(tmp_path / "o.key"))
    try:
        (got,) = audit.recover_leftovers(audit_dir, outbox)
        assert got.summary == {
            "records": 2,
            "lines": len(records),
            "ended": False,  # its end record is past the break: not among what goes up
            "torn": False,
            "break": {"index": 2, "reason": "hash"},
        }
        items = outbox.items(newest_first=False)
        assert [i.idempotency_key for i in items] == [
            f"rh-audit-{sid}-0",
            f"rh-audit-{sid}-recovery",
        ]
        batch, notice = (outbox.payload(i)["events"] for i in items)
        assert [e["data"] for e in batch] == records[:2]
        assert [e["type"] for e in notice] == [audit.RECOVERY_TYPE]
        assert notice[0]["data"] == got.summary and notice[0]["at"] == batch[0]["at"]
    finally:
        outbox.close()
    assert path.read_bytes() == b"".join(lines)  # untouched


def test_only_unmarked_chains_are_taken(tmp_path: Path) -> None:
    audit_dir = tmp_path / "remote-help"
    _, done_path = killed_session(audit_dir, end=True)
    audit.mark_queued(done_path, {"records": 1})
    left, _ = killed_session(audit_dir)
    (audit_dir / "not a session.jsonl").write_text("{}\n")
    (audit_dir / "rh-empty.jsonl").write_bytes(b"")
    outbox = Outbox(tmp_path / "o.sqlite3", KeyRing.load_or_create(tmp_path / "o.key"))
    try:
        got = audit.recover_leftovers(audit_dir, outbox)
        assert sorted(r.sid for r in got) == sorted([left, "rh-empty"])
        empty = next(r for r in got if r.sid == "rh-empty")
        assert empty.summary["records"] == 0 and empty.summary["lines"] == 0
        sessions = {i.session_id for i in outbox.items()}
        assert sessions == {left, "rh-empty"}  # the empty file: only the recovery event
        assert audit.recover_leftovers(tmp_path / "missing", outbox) == []
    finally:
        outbox.close()
