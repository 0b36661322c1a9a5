"""The flow schema's per-field ``assistant: true`` flag decides what leaves the kiosk unmasked.

Property: for random flow definitions (loaded through the real schema and loader) with the
flag set on random fields, a whole remote-help session — snapshot at join, patches as the
citizen types, the assistant's writes, resync, resume after a reconnect — never sends the
value of a field without the flag, in any envelope; flagged values do go out (no
over-masking); what the assistant writes into an unflagged field is never read back
(write-only); and the audit chain holds no value at all.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows import events as ev
from flows.loader import load_flow_document
from flows.model import FieldDef, FlowDef, Text
from flows.views import ButtonView, Countdown, FieldView, Progress, StepView
from kiosk.remote import audit, masking
from kiosk.remote.envelope import Envelope, encode
from kiosk.remote.protocol import Deliver, KioskProtocol, Output, Send

SID = "s-flag"
T = {"zh_CN": "字", "en": "text"}
# Values: Chinese characters no id, label or protocol word uses, then digits (a hash or a
# revision is never mistaken for one).
VALUES = st.builds(
    str.__add__,
    st.text(alphabet="张王李赵钱孙周吴", min_size=2, max_size=4),
    st.text(alphabet="0123456789", min_size=6, max_size=12),
)
KINDS = ("text", "number", "money", "date", "code", "id_number", "phone")


@st.composite
def field_specs(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    specs = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        personal = draw(st.booleans())
        spec: dict[str, Any] = {"id": f"f{i}", "kind": kind, "label": T, "required": False}
        if personal:
            spec["personal_data"] = True
        # the flag only where the loader allows it (elsewhere it refuses the document)
        if not personal and kind not in ("id_number", "phone") and draw(st.booleans()):
            spec["assistant"] = True
        specs.append(spec)
    return specs


def flow_of(specs: list[dict[str, Any]]) -> FlowDef:
    doc = {
        "id": "test.flag",
        "version": 1,
        "title": T,
        "steps": [
            {"id": "form", "type": "form", "title": T, "fields": specs, "next": "done"},
            {"id": "done", "type": "finish", "title": T},
        ],
    }
    return load_flow_document(doc, "flag.yaml")


def view_of(fields: tuple[FieldDef, ...], values: dict[str, str]) -> StepView:
    return StepView(
        flow_id="test.flag",
        item_code="ITEM-1",
        item_name=Text("事项", "item"),
        step_id="form",
        step_type="form",
        phase="edit",
        title=Text("填写", "form"),
        prompt=None,
        progress=Progress(1, 2),
        countdown=Countdown("paused", 120, 30),
        buttons=(ButtonView("next", Text("下一步", "next")),),
        fields=tuple(
            FieldView(
                id=f.id,
                kind=f.kind,
                label=f.label,
                display="●●●●" if f.masked and f.id in values else values.get(f.id),
                value=values.get(f.id),
                editable=True,
                required=f.required,
                masked=f.masked,
                personal_data=f.personal_data,
                source="input",
            )
            for f in fields
        ),
    )


class Console:
    """The assistant's side: numbers its messages, follows the revision, keeps what it got."""

    def __init__(self) -> None:
        self.seq, self.rev = 0, 0
        self.received: list[str] = []
        self.snap: masking.Snapshot | None = None

    def msg(self, mtype: str, body: dict[str, Any]) -> str:
        self.seq += 1
        intent = mtype.startswith("intent.")
        base_rev = self.rev if intent else None
        return encode(
            Envelope(SID, "assistant", self.seq, f"a-{self.seq}", mtype, body, base_rev=base_rev)
        )

    def see(self, outs: list[Output]) -> list[ev.Event]:
        events = []
        for o in outs:
            if isinstance(o, Send):
                self.received.append(o.text)
                env = o.envelope
                if env.rev is not None:
                    self.rev = env.rev
                if env.type == "snapshot":
                    self.snap = env.body
                elif env.type == "patch" and self.snap is not None:
                    self.snap = masking.apply_patch(self.snap, env.body)
            elif isinstance(o, Deliver):
                events.append(o.event)
        return events


Op = tuple[str, str, str]  # (citizen types | assistant writes | resync | resume, field, value)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, str], list[Op]]:
    specs = draw(field_specs())
    ids = [s["id"] for s in specs]
    first = {i: draw(VALUES) for i in ids if draw(st.booleans())}
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["type", "write", "resync", "resume"]),
                st.sampled_from(ids),
                VALUES,
            ),
            max_size=10,
        )
    )
    return specs, first, ops


@settings(max_examples=150, deadline=None)
@given(sessions())
def test_only_flagged_fields_ever_leave_unmasked_and_masked_ones_are_write_only(
    case: tuple[list[dict[str, Any]], dict[str, str], list[Op]],
) -> None:
    specs, first, ops = case
    flow = flow_of(specs)
    fields = flow.step("form").fields
    allow = masking.AllowList.from_flows({flow.id: flow})
    # exactly the flag decides (masked-on-screen fields cannot carry it: the loader refuses)
    flagged = {f.id for f in fields if f.assistant}
    assert allow.entries == {(flow.id, "form", i) for i in flagged}

    chain = audit.AuditChain()
    proto = KioskProtocol(SID, allow, chain)
    console = Console()
    values = dict(first)
    secrets: set[str] = set()  # every value a field without the flag ever held
    shown: set[str] = set()  # every value a flagged field ever held
    t = 0.0

    def show(now: float) -> None:
        for fid, value in values.items():
            (shown if fid in flagged else secrets).add(value)
        console.see(proto.view_changed(view_of(fields, values), now))

    show(t)
    console.see(proto.assistant_joined(t))
    console.see(proto.receive(console.msg("consent.request", {"scopes": ["fill"]}), t))
    console.see(proto.grant({"fill"}, t))
    for kind, fid, value in ops:
        t += 1.0
        if kind == "type":  # the citizen types on the kiosk
            values[fid] = value
            show(t)
        elif kind == "write":  # the assistant fills a field (with consent)
            events = console.see(
                proto.receive(console.msg("intent.field", {"field": fid, "value": value}), t)
            )
            assert ev.Input(field=fid, value=value) in events  # the flow gets it
            values[fid] = value  # the flow applies it and shows the next view
            show(t)
        elif kind == "resync":
            console.see(proto.receive(console.msg("resync", {}), t))
        else:  # a reconnect: replay or a fresh snapshot
            console.see(proto.receive(console.msg("hello", {"last_seq": 1}), t))
    # a value both an unflagged and a flagged field held is legitimately visible
    secrets = {s for s in secrets if not any(s in v for v in shown)}
    assume(secrets or shown)
    wire = "\n".join(console.received)
    for secret in secrets:
        assert secret not in wire
    # the console's copy is the masked view: flagged values there, the rest masked
    assert console.snap == masking.snapshot(view_of(fields, values), allow)
    for f in fields:
        entry = console.snap["fields"][f.id]
        if f.id in flagged:
            assert not entry["masked"] and entry["value"] == values.get(f.id)
        else:
            assert entry["masked"] and entry["value"] is None and entry["display"] is None
    # the audit chain names fields, never values (flagged or not)
    records = json.dumps(list(chain.records), ensure_ascii=False)
    for value in secrets | shown:
        assert value not in records
    audit.verify(chain.records)
