"""The kiosk-side rh/1 state machine: phases, consent, control handover, stale and duplicate
intents, stop, end, heartbeat, reconnect/resume, and the audit trail it leaves."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.envelope import Envelope, EnvelopeError, encode
from kiosk.remote.notices import (
    AssistStatus,
    ConsentRequested,
    DocumentOffered,
    DocumentReceived,
    DocumentRefused,
)
from kiosk.remote.protocol import Deliver, KioskProtocol, MediaAnswer, Output, Send
from tests.remote.views import field, view

SID = "s-1"


class Assistant:
    """A scripted console: numbers its messages, follows the kiosk's revision."""

    def __init__(self) -> None:
        self.seq = 0
        self.rev = 0

    def msg(
        self,
        mtype: str,
        body: dict[str, Any] | None = None,
        *,
        base_rev: int | None = None,
        mid: str | None = None,
    ) -> str:
        self.seq += 1
        intent = mtype.startswith("intent.")
        env = Envelope(
            sid=SID,
            sender="assistant",
            seq=self.seq,
            id=mid or f"a-{self.seq}",
            type=mtype,
            body=body or {},
            base_rev=(self.rev if base_rev is None else base_rev) if intent else None,
        )
        return encode(env)

    def see(self, outs: list[Output]) -> None:
        for o in outs:
            if isinstance(o, Send) and o.envelope.rev is not None:
                self.rev = o.envelope.rev


def sends(outs: list[Output], mtype: str | None = None) -> list[Envelope]:
    return [o.envelope for o in outs if isinstance(o, Send) and mtype in (None, o.envelope.type)]


def delivered(outs: list[Output]) -> list[ev.Event]:
    return [o.event for o in outs if isinstance(o, Deliver)]


def result(outs: list[Output]) -> tuple[str, str]:
    (env,) = sends(outs, "intent.result")
    return env.body["result"], env.body["reason"]


@pytest.fixture
def chain() -> audit.AuditChain:
    return audit.AuditChain()


def connected(chain: audit.AuditChain, *scopes: str) -> tuple[KioskProtocol, Assistant]:
    k = KioskProtocol(SID, masking.AllowList(), chain, request_id=7)
    a = Assistant()
    k.view_changed(view(field("amount"), field("name", "张三", masked=True)), 0.0)
    a.see(k.assistant_joined(1.0))
    if scopes:
        k.receive(a.msg("consent.request", {"scopes": list(scopes)}), 1.0)
        a.see(k.grant(scopes, 1.0))
    return k, a


def test_joining_answers_the_flow_and_sends_a_masked_snapshot(chain: audit.AuditChain) -> None:
    k = KioskProtocol(SID, masking.AllowList(), chain, request_id=7)
    k.view_changed(view(field("name", "张三")), 0.0)
    outs = k.assistant_joined(1.0)
    assert delivered(outs) == [ev.AssistantJoined(request_id=7)]
    (snap,) = sends(outs, "snapshot")
    assert snap.body["fields"]["name"]["masked"] is True
    assert "张三" not in encode(snap)
    assert k.status().phase == "connected"
    assert k.assistant_joined(2.0) == []  # once only


def test_a_change_on_the_same_step_goes_out_as_a_patch_and_bumps_the_revision(
    chain: audit.AuditChain,
) -> None:
    k, _ = connected(chain)
    before = k.rev
    outs = k.view_changed(view(field("amount", "12"), field("name", "张三", masked=True)), 2.0)
    (patch,) = sends(outs, "patch")
    assert patch.rev == before + 1
    assert set(patch.body["fields"]) == {"amount"}
    assert patch.body["fields"]["amount"]["filled"] is True
    assert (
        k.view_changed(view(field("amount", "12"), field("name", "张三", masked=True)), 3.0) == []
    )
    outs = k.view_changed(view(step_id="form2"), 4.0)
    assert [e.type for e in sends(outs)] == ["snapshot"]


def test_intents_need_the_citizens_consent(chain: audit.AuditChain) -> None:
    k, a = connected(chain)
    outs = k.receive(a.msg("intent.field", {"field": "amount", "value": "5"}), 2.0)
    assert result(outs) == ("rejected", "no_consent")
    assert delivered(outs) == []
    outs = k.receive(a.msg("consent.request", {"scopes": ["fill", "bogus"]}), 2.0)
    assert outs == [ConsentRequested(SID, frozenset({"fill"}))]
    assert k.grant({"navigate"}, 2.0) == []  # not asked for: nothing granted
    a.see(k.grant({"fill"}, 3.0))
    assert k.holder == "assistant" and k.scopes == {"fill"}
    outs = k.receive(a.msg("intent.field", {"field": "amount", "value": "5"}), 3.0)
    assert result(outs) == ("applied", "")
    assert delivered(outs) == [ev.Input(field="amount", value="5")]


def test_denied_consent_keeps_control_with_the_citizen(chain: audit.AuditChain) -> None:
    k, a = connected(chain)
    k.receive(a.msg("consent.request", {"scopes": ["fill"]}), 2.0)
    outs = k.deny(2.0)
    assert [e.type for e in sends(outs)] == ["consent.denied"]
    assert k.holder == "citizen" and not k.scopes and k.grant({"fill"}, 3.0) == []


def test_a_stale_intent_is_refused(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    based_on = a.rev
    k.view_changed(view(field("amount", "9"), field("name", "张三", masked=True)), 2.0)
    outs = k.receive(
        a.msg("intent.field", {"field": "amount", "value": "5"}, base_rev=based_on), 2.5
    )
    assert result(outs) == ("rejected", "stale")
    assert delivered(outs) == []


def test_a_duplicate_intent_is_applied_once_and_answered_twice(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    text = a.msg("intent.field", {"field": "amount", "value": "5"}, mid="a-dup")
    first = k.receive(text, 2.0)
    again = k.receive(text, 2.1)  # the same bytes again (e.g. WebSocket fallback + channel)
    assert delivered(first) == [ev.Input(field="amount", value="5")]
    assert delivered(again) == []
    assert result(first) == result(again) == ("applied", "")
    # same id with a new seq (a resend after reconnect) is still not applied again
    a.seq += 5
    resend = k.receive(a.msg("intent.field", {"field": "amount", "value": "5"}, mid="a-dup"), 3.0)
    assert delivered(resend) == [] and result(resend) == ("applied", "")
    applied = [r for r in chain.records if r["event"] == "intent.applied"]
    assert len(applied) == 1


def test_old_sequence_numbers_are_dropped(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "navigate")
    late = a.msg("intent.navigate", {"action": "next"})
    newer = a.msg("heartbeat")
    k.receive(newer, 2.0)
    assert k.receive(late, 2.1) == []


def test_masked_fields_are_write_only(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    outs = k.receive(a.msg("intent.field", {"field": "name", "value": "李四"}), 2.0)
    assert delivered(outs) == [ev.Input(field="name", value="李四")]
    outs = k.view_changed(view(field("amount"), field("name", "李四", masked=True)), 2.5)
    assert "李四" not in "".join(s.text for s in (o for o in outs if isinstance(o, Send)))
    assert all("李四" not in json.dumps(r, ensure_ascii=False) for r in chain.records)


@pytest.mark.parametrize(
    ("step_type", "action", "fields_editable", "reason"),
    [
        ("form", "submit", True, "citizen_only"),
        ("form", "cancel", True, "citizen_only"),
        ("consent", "next", True, "citizen_only"),
        ("review", "confirm", True, "citizen_only"),
    ],
)
def test_the_citizen_keeps_consent_confirm_and_submit(
    chain: audit.AuditChain, step_type: str, action: str, fields_editable: bool, reason: str
) -> None:
    k, a = connected(chain, "navigate", "fill")
    a.see(
        k.view_changed(
            view(
                field("x", editable=fields_editable),
                step_id="s2",
                step_type=step_type,
                actions=("next", "confirm", "submit", "cancel"),
            ),
            2.0,
        )
    )
    outs = k.receive(a.msg("intent.navigate", {"action": action}), 2.5)
    assert result(outs) == ("rejected", reason) and delivered(outs) == []
    if step_type != "form":
        outs = k.receive(a.msg("intent.field", {"field": "x", "value": "1"}), 2.6)
        assert result(outs) == ("rejected", "citizen_only")


def test_navigation_presses_an_enabled_button(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "navigate")
    outs = k.receive(a.msg("intent.navigate", {"action": "next"}), 2.0)
    assert delivered(outs) == [ev.Press(action="next")]
    a.see(outs)
    a.see(k.view_changed(view(step_id="busy", busy=True), 2.1))
    outs = k.receive(a.msg("intent.navigate", {"action": "next"}), 2.2)
    assert result(outs) == ("rejected", "busy")


def test_unknown_field_and_bad_value_are_refused(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    assert result(k.receive(a.msg("intent.field", {"field": "nope", "value": "1"}), 2.0)) == (
        "rejected",
        "unknown_field",
    )
    assert result(k.receive(a.msg("intent.field", {"field": "amount", "value": 5}), 2.0)) == (
        "rejected",
        "bad_value",
    )
    assert result(
        k.receive(a.msg("intent.field", {"field": "amount", "value": "9" * 300}), 2.0)
    ) == ("rejected", "bad_value")


def test_document_push_is_offered_to_the_citizen_not_fetched_from_the_message(
    chain: audit.AuditChain,
) -> None:
    k, a = connected(chain, "document")
    digest = "ab" * 32
    outs = k.receive(
        a.msg("intent.document", {"doc_id": "guide-7", "sha256": digest, "title": "办事指南"}), 2
    )
    assert DocumentOffered(SID, "guide-7", digest, "办事指南") in outs
    outs = k.receive(
        a.msg("intent.document", {"doc_id": "../etc", "sha256": digest, "title": "x"}), 2
    )
    assert result(outs) == ("rejected", "bad_document")


def test_a_fetched_document_reaches_the_app_only_when_its_hash_and_type_check_out(
    chain: audit.AuditChain,
) -> None:
    k, _ = connected(chain, "document")
    data = b"%PDF-1.4 guide"
    offer = DocumentOffered(SID, "guide-7", hashlib.sha256(data).hexdigest(), "办事指南")
    outs = k.document_fetched(offer, 3.0, data=data, content_type="application/pdf")
    assert DocumentReceived(SID, "guide-7", "办事指南", "application/pdf", data) in outs
    (env,) = sends(outs, "document.result")
    assert env.body == {"doc_id": "guide-7", "result": "delivered", "reason": ""}
    cases = [
        ({"data": data + b"!", "content_type": "application/pdf"}, "hash_mismatch"),
        ({"data": data, "content_type": "text/html"}, "bad_type"),
        ({"failure": "too_large"}, "too_large"),
        ({"failure": "offline"}, "offline"),
        ({}, "failed"),
    ]
    for kw, reason in cases:
        outs = k.document_fetched(offer, 4.0, **kw)  # type: ignore[arg-type]
        assert not any(isinstance(o, DocumentReceived) for o in outs), reason
        assert DocumentRefused(SID, "guide-7", "办事指南", reason) in outs
        (env,) = sends(outs, "document.result")
        assert (env.body["result"], env.body["reason"]) == ("refused", reason)
    events = [(r["event"], r["data"]) for r in chain.records if r["event"].startswith("doc")]
    assert events == [("document.delivered", {"doc_id": "guide-7", "size": len(data)})] + [
        ("document.refused", {"doc_id": "guide-7", "reason": reason}) for _, reason in cases
    ]
    k.end("done", 5.0)
    # the session is over (the citizen may be gone): nothing is shown, the outcome recorded
    assert k.document_fetched(offer, 6.0, data=data, content_type="application/pdf") == []
    assert chain.records[-1]["data"] == {"doc_id": "guide-7", "reason": "ended"}


def test_stop_revokes_everything_at_once(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill", "navigate")
    k.receive(a.msg("consent.request", {"scopes": ["document"]}), 2.0)
    outs = k.stop(2.5)
    a.see(outs)
    assert [e.type for e in sends(outs)] == ["consent.revoked", "citizen.stop", "control.state"]
    assert k.scopes == frozenset() and k.holder == "citizen" and k.pending_consent == frozenset()
    assert k.grant({"document"}, 3.0) == []  # the pending request died with the stop
    outs = k.receive(a.msg("intent.field", {"field": "amount", "value": "1"}), 3.0)
    assert result(outs) == ("rejected", "no_consent")
    assert k.phase == "connected"  # the call itself goes on until someone ends it


def test_control_release_and_partial_revoke(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill", "navigate")
    a.see(k.revoke({"navigate"}, 2.0))
    assert k.holder == "assistant" and k.scopes == {"fill"}
    outs = k.receive(a.msg("control.release"), 2.5)
    (state,) = sends(outs, "control.state")
    assert state.body == {"holder": "citizen", "scopes": [], "reason": "released"}


def test_end_answers_the_flow_and_refuses_later_intents(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    outs = k.receive(a.msg("end", {"reason": "done"}), 5.0)
    assert delivered(outs) == [ev.AssistantLeft(request_id=7)]
    assert sends(outs, "end") == []  # the assistant ended: nothing to tell it
    assert k.phase == "ended" and k.end("again", 6.0) == []
    outs = k.receive(a.msg("intent.field", {"field": "amount", "value": "1"}), 6.0)
    assert result(outs) == ("rejected", "ended")


def test_ending_before_anyone_joined_is_no_assistant(chain: audit.AuditChain) -> None:
    k = KioskProtocol(SID, masking.AllowList(), chain, request_id=3)
    outs = k.end("no_assistant", 1.0, actor="platform")
    assert delivered(outs) == [
        ev.EffectFailed(request_id=3, effect="call_assistant", reason="no_assistant")
    ]


def test_heartbeat_and_link_loss_hand_control_back(chain: audit.AuditChain) -> None:
    k, a = connected(chain, "fill")
    assert [e.type for e in sends(k.tick(7.0))] == ["heartbeat"]
    assert sends(k.tick(8.0)) == []  # sent one a second ago
    outs = k.tick(17.0)
    assert k.holder == "citizen" and not k.scopes and not k.link_ok
    assert any(isinstance(o, AssistStatus) and not o.link_ok for o in outs)
    outs = k.receive(a.msg("heartbeat"), 18.0)
    assert k.link_ok and k.scopes == frozenset()  # consent is asked again, not restored


def test_resume_replays_what_the_console_missed(chain: audit.AuditChain) -> None:
    k, a = connected(chain)
    seen = k._seq
    k.view_changed(view(field("amount", "1"), field("name", "张三", masked=True)), 2.0)
    # masked values do not show, so only a visible change (busy) makes the second patch
    k.view_changed(view(field("amount", "2"), field("name", "张三", masked=True), busy=True), 3.0)
    console = Assistant()  # reloaded page: numbering restarts
    outs = k.receive(console.msg("hello", {"last_seq": seen, "last_rev": a.rev}), 4.0)
    assert [(e.type, e.seq) for e in sends(outs)] == [
        ("patch", seen + 1),
        ("patch", seen + 2),
        ("resume.ok", seen + 3),
    ]
    # its next messages count from its new numbering
    assert sends(k.receive(console.msg("resync"), 4.1), "snapshot")


def test_resume_too_far_back_gets_a_fresh_snapshot(chain: audit.AuditChain) -> None:
    k, _ = connected(chain)
    for i in range(80):
        k.view_changed(view(field("amount", str(i)), busy=i % 2 == 0), 2.0 + i)
    outs = k.receive(Assistant().msg("hello", {"last_seq": 1}), 90.0)
    types = [e.type for e in sends(outs)]
    assert types == ["resume.ok", "snapshot", "control.state"]
    assert sends(outs)[0].body == {"mode": "snapshot"}
    assert sends(outs)[1].body["fields"]["amount"]["masked"] is True


def test_messages_for_another_session_or_from_the_kiosk_are_refused(
    chain: audit.AuditChain,
) -> None:
    k, _ = connected(chain)
    other = Envelope(sid="s-2", sender="assistant", seq=1, id="x", type="heartbeat")
    with pytest.raises(EnvelopeError, match="wrong_session"):
        k.receive(encode(other), 2.0)
    with pytest.raises(EnvelopeError, match="version"):
        k.receive(b'{"v":"rh/2"}', 2.0)


def test_the_session_leaves_a_verifiable_chain_that_reconciles_with_the_console(
    chain: audit.AuditChain,
) -> None:
    k, a = connected(chain, "fill")
    console = audit.AuditChain()
    for i, value in enumerate(("1", "2")):
        mid = f"a-v{i}"
        console.append(
            ts=2.0, sid=SID, actor="assistant", event="intent.sent", data={"intent": mid}
        )
        outs = k.receive(a.msg("intent.field", {"field": "amount", "value": value}, mid=mid), 2.0)
        res, _ = result(outs)
        console.append(
            ts=2.0,
            sid=SID,
            actor="assistant",
            event="intent.outcome",
            data={"intent": mid, "result": res},
        )
        a.see(outs)
    k.stop(3.0)
    k.end("done", 4.0)
    audit.verify(chain.records)
    rec = audit.reconcile(chain.records, console.records)
    assert rec.ok, rec
    events = [r["event"] for r in chain.records]
    assert events[:3] == ["session.assigned", "consent.requested", "consent.granted"]
    assert events[-3:] == ["citizen.stop", "control.state", "end"]


def test_media_offer_and_answer_travel_as_envelopes(chain: audit.AuditChain) -> None:
    k = KioskProtocol(SID, masking.AllowList(), chain)
    assert k.media_offer("v=0 offer", 0.5) == []  # nobody to offer video to yet
    a = Assistant()
    k.view_changed(view(), 0.0)
    k.assistant_joined(1.0)
    (offer,) = sends(k.media_offer("v=0 offer", 1.0))
    assert (offer.type, offer.body) == ("media.offer", {"sdp": "v=0 offer"})
    assert k.receive(a.msg("media.answer", {"sdp": "v=0 answer"}), 1.5) == [
        MediaAnswer("v=0 answer")
    ]
    assert k.receive(a.msg("media.answer", {"sdp": 5}), 1.6) == []
    assert [r["event"] for r in chain.records][-2:] == ["media.offer", "media.answer"]


def test_a_new_console_gets_the_present_state_not_the_history(chain: audit.AuditChain) -> None:
    k, _ = connected(chain)
    k.view_changed(view(field("amount", "1"), busy=True), 2.0)
    outs = k.receive(Assistant().msg("hello", {"last_seq": 0, "last_rev": 0}), 3.0)
    assert [e.type for e in sends(outs)] == ["resume.ok", "snapshot", "control.state"]


def test_transfer_ends_the_consent_given_to_the_previous_assistant(
    chain: audit.AuditChain,
) -> None:
    k, a = connected(chain, "fill")
    outs = k.assistant_changed(5.0)
    (state,) = sends(outs, "control.state")
    assert state.body == {"holder": "citizen", "scopes": [], "reason": "transfer"}
    assert k.scopes == frozenset() and k.holder == "citizen"
    outs = k.receive(a.msg("intent.field", {"field": "amount", "value": "1"}), 6.0)
    assert result(outs) == ("rejected", "no_consent")
    assert chain.records[-3]["event"] == "session.transferred"
