"""Allow-list masking: no field leaves the kiosk unmasked unless the allow-list names it —
property-tested on random views and checked on every view of every shipped flow."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from flows import events as ev
from flows.catalogue import shipped_catalogue
from flows.engine import FlowEngine
from flows.headless import Autopilot, all_devices
from flows.loader import shipped_flows
from flows.model import Text
from flows.views import (
    ButtonView,
    ChoiceView,
    Countdown,
    FieldView,
    PaymentView,
    Progress,
    StepView,
    SummaryRow,
)
from kiosk.remote import masking

# Personal values: at least 6 characters from an alphabet no label or id below uses.
PERSONAL = st.text(alphabet="张王李赵钱孙0123456789X", min_size=6, max_size=18)
IDS = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
LABEL = Text("标签", "label")


@st.composite
def fields(draw: st.DrawFn, fid: str) -> FieldView:
    value = draw(PERSONAL)
    masked = draw(st.booleans())
    choices = tuple(
        ChoiceView("pick", draw(PERSONAL), Text(lbl, lbl))
        for lbl in draw(st.lists(PERSONAL, max_size=2))
    )
    return FieldView(
        id=fid,
        kind=draw(st.sampled_from(["text", "id_number", "phone", "choice"])),
        label=LABEL,
        display="●●●●" if masked else value,
        value=value if draw(st.booleans()) else None,
        editable=draw(st.booleans()),
        required=draw(st.booleans()),
        masked=masked,
        personal_data=draw(st.booleans()),
        source=draw(st.sampled_from([None, "identity", "input", "licence"])),
        choices=choices,
    )


@st.composite
def views(draw: st.DrawFn) -> tuple[StepView, masking.AllowList]:
    ids = draw(st.lists(IDS, unique=True, max_size=6))
    fs = tuple(draw(fields(i)) for i in ids)
    step_id = draw(st.sampled_from(["form", "review", "identify"]))
    allowed = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    # entries for other flows/steps must not unmask anything here
    entries = {("flow.x", step_id, f) for f in allowed}
    entries |= {("flow.other", step_id, f) for f in ids}
    entries |= {("flow.x", "elsewhere", f) for f in ids}
    view = StepView(
        flow_id="flow.x",
        item_code="ITEM",
        item_name=LABEL,
        step_id=step_id,
        step_type=draw(st.sampled_from(["form", "review", "identify", "submit"])),
        phase="p",
        title=LABEL,
        prompt=None,
        progress=Progress(1, 3),
        countdown=Countdown("running", 60, 10),
        buttons=(ButtonView("next", LABEL), ButtonView("confirm", LABEL)),
        fields=fs,
        choices=tuple(
            ChoiceView("licence", draw(PERSONAL), Text(v, v))
            for v in draw(st.lists(PERSONAL, max_size=2))
        ),
        summary=tuple(SummaryRow(LABEL, v, True) for v in draw(st.lists(PERSONAL, max_size=3))),
        payment=draw(st.none() | PERSONAL.map(lambda q: PaymentView(q, "¥1", "今日"))),
        result=draw(st.none() | st.dictionaries(IDS, PERSONAL, max_size=3)),
    )
    return view, masking.AllowList(frozenset(entries))


def personal_values_that_must_not_leave(view: StepView, allow: masking.AllowList) -> set[str]:
    out: set[str] = set()
    for f in view.fields:
        if not allow.allows(view.flow_id, view.step_id, f.id) or f.masked:
            out |= {v for v in (f.value, f.display) if v and v != "●●●●"}
            out |= {c.value for c in f.choices} | {c.label.zh_CN for c in f.choices}
    out |= {r.value for r in view.summary}
    out |= {c.value for c in view.choices} | {c.label.zh_CN for c in view.choices}
    if view.payment:
        out.add(view.payment.qr)
    if isinstance(view.result, dict):
        out |= set(view.result.values())
    return out


@settings(max_examples=300, deadline=None)
@given(views())
def test_no_field_outside_the_allow_list_ever_leaves_unmasked(
    case: tuple[StepView, masking.AllowList],
) -> None:
    view, allow = case
    snap = masking.snapshot(view, allow)
    wire = json.dumps(snap, ensure_ascii=False)
    # anything a non-allowed field holds, even as a fragment of another value
    allowed_values = {
        (f.value or "") + "|" + (f.display or "")
        for f in view.fields
        if allow.allows(view.flow_id, view.step_id, f.id) and not f.masked
    } | {
        c.value + c.label.zh_CN
        for f in view.fields
        if allow.allows(view.flow_id, view.step_id, f.id) and not f.masked
        for c in f.choices
    }
    for secret in personal_values_that_must_not_leave(view, allow):
        if any(secret in a for a in allowed_values):
            continue  # the same string is legitimately visible through an allowed field
        assert secret not in wire, secret
    for f in view.fields:
        entry = snap["fields"][f.id]
        allowed = allow.allows(view.flow_id, view.step_id, f.id)
        assert entry["masked"] is (not allowed or f.masked)
        assert entry["filled"] is bool(f.value or f.display)
        if not entry["masked"]:  # and what is allowed does go out (no over-masking)
            assert entry["value"] == f.value and entry["display"] == f.display


@settings(max_examples=60, deadline=None)
@given(views(), views())
def test_a_patch_turns_the_old_snapshot_into_the_new_one(
    a: tuple[StepView, masking.AllowList], b: tuple[StepView, masking.AllowList]
) -> None:
    old, new = masking.snapshot(*a), masking.snapshot(*b)
    assert masking.apply_patch(old, masking.diff(old, new)) == new


def test_the_shipped_flows_allow_exactly_their_flagged_fields() -> None:
    flows = shipped_flows()
    entries = masking.AllowList.from_flows(flows).entries
    assert ("tax.invoice_check", "form", "amount") in entries
    assert ("tax.invoice_issue", "form", "applicant_name") not in entries
    assert entries == {
        (flow.id, step.id, f.id)
        for flow in flows.values()
        for step in flow.steps
        for f in step.fields
        if f.assistant
    }


def _personal_values(view: StepView, allow: masking.AllowList) -> set[str]:
    vals: set[str] = set()
    for f in view.fields:
        if (
            f.personal_data
            or f.source in ("identity", "licence")
            or not allow.allows(view.flow_id, view.step_id, f.id)
        ):
            vals |= {v for v in (f.value, f.display) if v}
            vals |= {c.label.zh_CN for c in f.choices}
    vals |= {r.value for r in view.summary if r.personal_data}
    if view.payment:
        vals.add(view.payment.qr)
    return {v for v in vals if len(v) >= 4}


def test_every_view_of_every_shipped_flow_goes_out_without_its_values() -> None:
    """The autopilot walks each catalogue item with synthetic citizens; every Show's view is
    masked with the shipped flows' allow-list (their ``assistant: true`` fields) and no value
    of a personal or unflagged field may appear."""
    flows, catalogue = shipped_flows(), shipped_catalogue()
    allow = masking.AllowList.from_flows(flows)
    checked = unmasked = 0
    for item in catalogue.items:
        if item.flow not in flows:
            continue
        trace = Autopilot().drive(FlowEngine(flows), item.flow, item, devices=all_devices())
        for entry in trace.entries:
            for effect in entry.effects:
                if not isinstance(effect, ev.Show):
                    continue
                view = effect.view
                snap = masking.snapshot(view, allow)
                wire = json.dumps(snap, ensure_ascii=False)
                statics = json.dumps(
                    [view.title.as_dict(), view.item_name.as_dict(), view.item_code],
                    ensure_ascii=False,
                )
                # the autopilot types the same filler into several fields
                shared = {f["value"] for f in snap["fields"].values() if f["value"]}
                for value in _personal_values(view, allow) - shared:
                    if value not in statics:
                        assert value not in wire, (item.code, view.step_id)
                unmasked += sum(1 for f in snap["fields"].values() if f["value"])
                checked += 1
    assert checked > 50
    assert unmasked > 0  # the flagged business fields do reach the assistant
