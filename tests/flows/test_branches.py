"""Every branch of every shipped flow, walked by the autopilot; traces snapshot-tested.

For each catalogue item a matrix of scenarios runs its flow: each identification method and
its failures (once, then recovery; until the attempts run out), each effect failing once,
offline submission, e-licences satisfying materials, declines, edits, help, a timeout and a
cancel at every step the citizen acts on. The test then checks that every transition the
flow document defines was taken at least once, and that every session ended.

Snapshots: ``tests/flows/snapshots/<flow>.json`` hold compact traces of a few scenarios per
flow. Regenerate them only deliberately: ``UPDATE_SNAPSHOTS=1 pytest tests/flows``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import pytest

from flows import events as ev
from flows.catalogue import CatalogItem, Catalogue, shipped_catalogue
from flows.engine import FlowEngine
from flows.headless import Autopilot, Policy, Trace, all_devices
from flows.loader import shipped_flows
from flows.model import METHOD_DEVICE, FlowDef

SNAPSHOTS = Path(__file__).with_name("snapshots")
FAIL_REASONS = {
    "read_id_card": "no_card",
    "scan_code": "timeout",
    "verify_code": "offline",
    "capture_face": "camera_error",
    "fetch_user_info": "offline",
    "fetch_licences": "offline",
    "fetch_benefits": "offline",
    "capture_document": "camera_error",
    "submit_case": "outbox_full",
    "query_platform": "not_found",
    "print_document": "paper_out",
}


def licences_for(item: CatalogItem) -> tuple[ev.Licence, ...]:
    types = {m.licence_type: m.name for m in item.materials if m.licence_type}
    types.setdefault("business_licence", "营业执照")
    return tuple(
        ev.Licence(
            id=f"L{i}",
            type=t,
            type_name=name,
            number="91370102MA3ABCDE1X" if t == "business_licence" else f"N{i:04d}",
            holder_name="测试企业",
        )
        for i, (t, name) in enumerate(sorted(types.items()))
    )


def identify_methods(flow: FlowDef) -> tuple[str, ...]:
    return next((s.methods for s in flow.steps if s.type == "identify"), ())


def scenarios(flow: FlowDef, item: CatalogItem) -> dict[str, tuple[Policy, dict[str, bool], bool]]:
    """name → (policy, devices, online)."""
    up = all_devices()
    out: dict[str, tuple[Policy, dict[str, bool], bool]] = {}

    def add(
        name: str, policy: Policy, devices: Mapping[str, bool] | None = None, online: bool = True
    ) -> None:
        out[name] = (policy, dict(devices if devices is not None else up), online)

    methods = identify_methods(flow)
    add("happy", Policy(method=methods[0] if methods else "id_card"))
    for m in methods:
        add(f"method_{m}", Policy(method=m))
        effect = {"id_card": "read_id_card", "lutong_code": "scan_code", "face": "capture_face"}[m]
        add(f"{m}_fails_once", Policy(method=m, fail={effect: [FAIL_REASONS[effect]]}))
        add(f"{m}_exhausted", Policy(method=m, fail={effect: [FAIL_REASONS[effect]] * 10}))
        add(
            f"only_{m}",
            Policy(method=m),
            {
                **all_devices(False),
                METHOD_DEVICE[m]: True,
                "a4_printer": True,
                "receipt_printer": True,
                "document_camera": True,
            },
        )
    if "id_card" in methods:
        add("card_misread", Policy(card_valid=False))
        add(
            "card_face_check_fails",
            Policy(method="id_card", fallback=("lutong_code",), face_live=False),
        )
    if "lutong_code" in methods:
        add("code_verify_fails", Policy(method="lutong_code", fail={"verify_code": ["offline"]}))
        add(
            "code_expired_then_face",
            Policy(method="lutong_code", fallback=("face",), code_result="expired"),
        )
        add(
            "code_rejected",
            Policy(method="lutong_code", fallback=("id_card",), code_result="rejected"),
        )
    if "face" in methods:
        add("face_not_live", Policy(method="face", fallback=("id_card",), face_live=False))
        add("face_no_match", Policy(method="face", fallback=("id_card",), face_matched=False))
    if methods:
        add(
            "no_identification_device",
            Policy(),
            {**up, "idcard": False, "scanner": False, "camera": False},
        )
    for effect in (
        "fetch_user_info",
        "fetch_licences",
        "fetch_benefits",
        "capture_document",
        "submit_case",
        "query_platform",
        "print_document",
    ):
        add(f"{effect}_fails_once", Policy(waive=False, fail={effect: [FAIL_REASONS[effect]]}))
    add(
        "form_scan_fails",
        Policy(
            fail={"scan_code": [] if "lutong_code" in methods else ["timeout"]}, method="id_card"
        ),
    )
    add("print_fails_then_skip", Policy(fail={"print_document": ["paper_out"] * 5}))
    add("printers_down", Policy(), {**up, "receipt_printer": False, "a4_printer": False})
    add("no_document_camera", Policy(waive=False), {**up, "document_camera": False})
    add("offline_queued", Policy(queued=True), online=False)
    add("no_payment", Policy(payment=False))
    add("licences_cover_materials", Policy(licences=licences_for(item)))
    add("capture_all_materials", Policy(waive=False))
    add("decline_consent", Policy(decline_consent=True))
    add("decline_commitment", Policy(decline_commitment_once=True))
    add("review_edit", Policy(edit_once=True))
    add("back_from_review", Policy(back_at="review"))
    add("skip_rating", Policy(rating=None))
    add("poor_rating", Policy(rating="2"))
    add("help_connected", Policy(help_at="form"))
    add("help_unavailable", Policy(help_at="form", assistant_available=False))
    for step in flow.steps:
        add(f"timeout_at_{step.id}", Policy(timeout_at=step.id, licences=licences_for(item)))
        add(f"cancel_at_{step.id}", Policy(cancel_at=step.id, licences=licences_for(item)))
    add(
        "timeout_by_timer",
        Policy(timeout_at=flow.steps[-1].id if methods else "form", timeout_by_timer=True),
    )
    return out


def defined_edges(flow: FlowDef) -> set[tuple[str, str]]:
    return {(s.id, t) for s in flow.steps for t in s.targets()}


def run_matrix(
    flow: FlowDef, catalogue: Catalogue
) -> tuple[set[tuple[str, str]], dict[str, Trace]]:
    walked: set[tuple[str, str]] = set()
    traces: dict[str, Trace] = {}
    engine = FlowEngine(shipped_flows(), on_transition=lambda f, a, b: walked.add((a, b)))
    for item in catalogue.items_for_flow(flow.id):
        for name, (policy, devices, online) in scenarios(flow, item).items():
            trace = Autopilot(policy).drive(engine, flow.id, item, devices=devices, online=online)
            assert not engine.active, f"{item.code}/{name}: the session did not end"
            assert trace.end_reason is not None
            traces[f"{item.code}/{name}"] = trace
    return walked, traces


FLOW_IDS = sorted(shipped_flows())


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_every_transition_is_walked(flow_id: str) -> None:
    flow = shipped_flows()[flow_id]
    walked, traces = run_matrix(flow, shipped_catalogue())
    missing = defined_edges(flow) - walked
    assert not missing, f"transitions never taken: {sorted(missing)}"
    shown = {screen.split(":")[0] for t in traces.values() for screen in t.screens()}
    skippable = {
        s.id for s in flow.steps if s.type in ("materials", "pay_notice") or s.when is not None
    }
    assert {s.id for s in flow.steps} - skippable <= shown
    ends: defaultdict[str | None, int] = defaultdict(int)
    for name, t in traces.items():
        ends[t.end_reason] += 1
        scenario = name.split("/", 1)[1]
        if scenario.startswith("cancel_at_") and scenario.removeprefix("cancel_at_") in shown:
            assert t.end_reason in ("cancelled", "declined", "finished"), name
    assert ends["finished"] and ends["cancelled"] and ends["timeout"]


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_failures_show_an_error_and_recover(flow_id: str) -> None:
    flow = shipped_flows()[flow_id]
    catalogue = shipped_catalogue()
    item = catalogue.items_for_flow(flow_id)[0]
    for name, (policy, devices, online) in scenarios(flow, item).items():
        if not name.endswith("_fails_once"):
            continue
        trace = Autopilot(policy).drive(
            FlowEngine(shipped_flows()), flow_id, item, devices=devices, online=online
        )
        failed = [i for i, e in enumerate(trace.entries) if isinstance(e.event, ev.EffectFailed)]
        if not failed:
            continue  # this flow does not use that effect
        after = trace.entries[failed[0]].effects
        shows = [e for e in after if isinstance(e, ev.Show)]
        fetch = name.startswith("fetch_")
        # a failed fetch degrades silently (fields asked instead); others say what went wrong
        assert shows and (fetch or shows[-1].view.error is not None), name
        assert trace.end_reason == "finished", f"{name}: one failure must not end the visit"


SNAPSHOT_SCENARIOS = (
    "happy",
    "code_expired_then_face",
    "offline_queued",
    "fetch_user_info_fails_once",
    "cancel_at_form",
)


def snapshot_of(flow: FlowDef) -> dict[str, object]:
    catalogue = shipped_catalogue()
    item = catalogue.items_for_flow(flow.id)[0]
    all_scenarios = scenarios(flow, item)
    out: dict[str, object] = {}
    for name in SNAPSHOT_SCENARIOS:
        if name not in all_scenarios:
            continue
        policy, devices, online = all_scenarios[name]
        trace = Autopilot(policy).drive(
            FlowEngine(shipped_flows()), flow.id, item, devices=devices, online=online
        )
        out[name] = trace.compact()
    return out


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_trace_snapshots(flow_id: str) -> None:
    path = SNAPSHOTS / f"{flow_id}.json"
    actual = snapshot_of(shipped_flows()[flow_id])
    text = json.dumps(actual, ensure_ascii=False, indent=1) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path.name}; create it with UPDATE_SNAPSHOTS=1"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)
