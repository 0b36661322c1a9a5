"""Any sequence of events, however wrong, never crashes the engine or leaves it inconsistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows import events as ev
from flows.catalogue import shipped_catalogue
from flows.engine import FlowEngine
from flows.headless import SYNTHETIC_PERSON, all_devices
from flows.loader import shipped_flows

ACTIONS = [
    "method",
    "next",
    "back",
    "help",
    "cancel",
    "continue",
    "agree",
    "decline",
    "scan",
    "capture",
    "waive",
    "confirm",
    "edit",
    "retry",
    "skip",
    "rate",
    "reason",
    "submit",
    "done",
    "x",
]
VALUES = [
    None,
    "id_card",
    "lutong_code",
    "face",
    "M01",
    "M02",
    "1",
    "5",
    "phone",
    "case_number",
    "bad_slow",
    "",
]
FIELDS = [
    "id_number",
    "phone",
    "applicant_name",
    "services",
    "category",
    "case_number",
    "year",
    "amount",
    "x",
]
TEXTS = [
    "",
    "17000009999",
    SYNTHETIC_PERSON["id_number"],
    "2024",
    "power,gas",
    "tax",
    "JN2026112800001",
    "测试",
    "1" * 300,
]
rid = st.none() | st.integers(0, 40)

events = st.one_of(
    st.builds(ev.Press, st.sampled_from(ACTIONS), st.sampled_from(VALUES)),
    st.builds(ev.Input, st.sampled_from(FIELDS), st.sampled_from(TEXTS)),
    st.builds(ev.Tick, st.floats(0, 500, allow_nan=False)),
    st.builds(ev.TimerFired, st.sampled_from(["idle", "other"])),
    st.builds(
        ev.IdCardRead,
        request_id=rid,
        name=st.sampled_from(["", "测试"]),
        id_number=st.sampled_from(TEXTS),
    ),
    st.builds(ev.CodeScanned, request_id=rid, text=st.sampled_from(TEXTS)),
    st.builds(
        ev.CodeVerified,
        request_id=rid,
        result=st.sampled_from(["valid", "expired", "rejected"]),
        holder_ref=st.sampled_from([None, "h-1"]),
    ),
    st.builds(ev.FaceCaptured, request_id=rid, live=st.booleans(), matched=st.booleans()),
    st.builds(
        ev.UserInfoFetched, request_id=rid, phone=st.sampled_from([None, "17000009999", "bad"])
    ),
    st.builds(
        ev.LicencesFetched,
        request_id=rid,
        licences=st.just((ev.Licence("L1", "hukou", "户口簿", "N1"),)),
    ),
    st.builds(ev.BenefitsFetched, request_id=rid),
    st.builds(ev.DocumentCaptured, request_id=rid, ref=st.sampled_from(["", "doc-1"])),
    st.builds(
        ev.CaseSubmitted,
        request_id=rid,
        case_number=st.sampled_from([None, "JN1"]),
        queued=st.booleans(),
        payment=st.sampled_from([None, ev.Payment("q", "1元")]),
    ),
    st.builds(ev.QueryAnswered, request_id=rid, data=st.just({"ticket": "A1"})),
    st.builds(ev.Printed, request_id=rid),
    st.builds(ev.AssistantJoined, request_id=rid),
    st.builds(ev.AssistantLeft, request_id=rid),
    st.builds(
        ev.EffectFailed,
        request_id=rid,
        effect=st.sampled_from(
            [
                "read_id_card",
                "scan_code",
                "verify_code",
                "capture_face",
                "fetch_user_info",
                "fetch_licences",
                "submit_case",
                "query_platform",
                "print_document",
                "call_assistant",
                "capture_document",
            ]
        ),
        reason=st.sampled_from(["offline", "x"]),
    ),
)

CODES = [it.code for it in shipped_catalogue().items]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CODES),
    st.dictionaries(st.sampled_from(sorted(all_devices())), st.booleans()),
    st.booleans(),
    st.lists(events, max_size=60),
)
def test_random_event_sequences(
    code: str, down: dict[str, bool], online: bool, seq: list[ev.Event]
) -> None:
    engine = FlowEngine(shipped_flows())
    item = shipped_catalogue().item(code)
    effects = engine.start(item.flow, item, devices={**all_devices(), **down}, online=online)
    for event in seq:
        assert all(isinstance(e, ev.Effect) for e in effects)
        if not engine.active:
            assert any(isinstance(e, ev.EndSession) for e in effects) or effects == []
            return
        view = engine.view()
        assert view is not None and view.step_id in engine.flows[item.flow].index
        effects = engine.feed(event)
