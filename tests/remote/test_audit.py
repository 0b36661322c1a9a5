"""The hash-chained audit log: append, verify, tamper detection, the file form, reconciliation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.remote import audit


def chain_of(n: int) -> audit.AuditChain:
    c = audit.AuditChain()
    for i in range(n):
        c.append(
            ts=float(i),
            sid="s-1",
            actor="kiosk",
            event="intent.applied",
            data={"intent": f"a-{i}", "result": "applied"},
        )
    return c


def test_a_fresh_chain_verifies_and_links() -> None:
    c = chain_of(3)
    audit.verify(c.records)
    assert c.records[0]["prev"] == audit.GENESIS
    assert c.records[2]["prev"] == c.records[1]["hash"] == audit.record_hash(c.records[1])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5), st.sampled_from(["ts", "actor", "event", "data", "sid", "prev"]))
def test_any_edit_breaks_the_chain_at_that_record(index: int, key: str) -> None:
    records = [dict(r) for r in chain_of(6).records]
    records[index][key] = {"x": 1} if key == "data" else "tampered"
    with pytest.raises(audit.AuditChainError) as info:
        audit.verify(records)
    assert info.value.index == index


def test_dropping_or_reordering_records_is_detected() -> None:
    records = list(chain_of(4).records)
    with pytest.raises(audit.AuditChainError, match="record 1"):
        audit.verify([records[0], *records[2:]])
    with pytest.raises(audit.AuditChainError, match="record 0"):
        audit.verify([records[1], records[0]])
    # an edit with a recomputed hash is still caught by the next record's prev
    edited = dict(records[1], actor="assistant")
    edited["hash"] = audit.record_hash(edited)
    with pytest.raises(audit.AuditChainError) as info:
        audit.verify([records[0], edited, *records[2:]])
    assert (info.value.index, info.value.reason) == (2, "prev")


def test_the_file_form_appends_reloads_and_refuses_a_tampered_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    f = audit.AuditFile(path)
    f.append(ts=1.0, sid="s-1", actor="citizen", event="consent.granted", data={"scopes": ["fill"]})
    f.append(ts=2.0, sid="s-1", actor="citizen", event="citizen.stop", data={})
    again = audit.AuditFile(path)  # reopening continues the chain
    again.append(ts=3.0, sid="s-1", actor="kiosk", event="end", data={"reason": "done"})
    records = audit.load(path)
    assert [r["event"] for r in records] == ["consent.granted", "citizen.stop", "end"]
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("citizen.stop", "citizen.stay")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(audit.AuditChainError) as info:
        audit.AuditFile(path)
    assert info.value.index == 1
    path.write_bytes(b"not json\n")
    with pytest.raises(audit.AuditChainError, match="not_json"):
        audit.load(path)


def test_reconcile_finds_lost_extra_and_disagreeing_intents() -> None:
    kiosk, console = audit.AuditChain(), audit.AuditChain()

    def k(intent: str, result: str) -> None:
        kiosk.append(
            ts=0,
            sid="s",
            actor="kiosk",
            event=f"intent.{result}",
            data={"intent": intent, "result": result},
        )

    def c(intent: str, result: str | None) -> None:
        console.append(
            ts=0, sid="s", actor="assistant", event="intent.sent", data={"intent": intent}
        )
        if result:
            console.append(
                ts=0,
                sid="s",
                actor="assistant",
                event="intent.outcome",
                data={"intent": intent, "result": result},
            )

    c("a-1", "applied")
    k("a-1", "applied")
    c("a-2", None)  # sent, never reached the kiosk
    k("a-3", "applied")  # applied, but the console never sent it
    c("a-4", "applied")
    k("a-4", "rejected")
    rec = audit.reconcile(kiosk.records, console.records)
    assert (rec.only_console, rec.only_kiosk, rec.disagree) == (("a-2",), ("a-3",), ("a-4",))
    assert not rec.ok
    bad = [dict(r) for r in kiosk.records]
    bad[0]["data"] = {"intent": "a-1", "result": "rejected"}
    with pytest.raises(audit.AuditChainError):
        audit.reconcile(bad, console.records)
    assert json.dumps(kiosk.records[0], ensure_ascii=False)


def test_upload_batches_carry_the_whole_chain_in_order_within_the_platform_limit() -> None:
    records = chain_of(2500).records
    batches = audit.upload_batches(records, "2026-11-29T01:00:00+00:00")
    assert [len(b["events"]) for b in batches] == [1000, 1000, 500]
    events = [e for b in batches for e in b["events"]]
    assert {(e["type"], e["session_id"], e["at"]) for e in events} == {
        (audit.UPLOAD_TYPE, "s-1", "2026-11-29T01:00:00+00:00")
    }
    uploaded = [e["data"] for e in events]
    assert uploaded == [dict(r) for r in records]
    audit.verify(uploaded)  # the platform can check the chain it got
    assert audit.upload_batches([], "2026-11-29T01:00:00+00:00") == []
