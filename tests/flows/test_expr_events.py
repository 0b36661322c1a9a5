"""The restricted condition evaluator and the event parser (outside input: fuzzed)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import events as ev
from flows.expr import ExpressionError, compile_expression
from flows.idnumber import is_valid_id_number, mask_id_number, mask_phone

CTX: dict[str, Any] = {
    "item": {"code": "YJS-0008", "remote_help": False, "departments": ["市场监管局"]},
    "materials": {"waived": 2},
    "form": {"services": "power,gas"},
    "online": True,
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("item.code == 'YJS-0008'", True),
        ("materials.waived > 0 and online", True),
        ("not item.remote_help", True),
        ("'power' in form.services", True),
        ("item.code in ['A', 'B']", False),
        ("materials.waived > 0 or item.code == 'X'", True),
        ("1 < materials.waived <= 2", True),
        ("item.missing == None", True),
        ("item.missing > 3", False),  # None > 3 is false, not an error
        ("form.services.deeper == 1", False),  # attribute of a string is None
        ("item.code != 'YJS-0008'", False),
    ],
)
def test_evaluation(source: str, expected: bool) -> None:
    assert compile_expression(source)(CTX) is expected


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("__import__('os')", "Call is not allowed"),
        ("item['code']", "Subscript is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("item.code + 'x'", "BinOp is not allowed"),
        ("x.y", "unknown name 'x'"),
        ("item._secret", "names starting with '_'"),
        ("item.code is None", "operator Is is not allowed"),
        ("[item.code]", "a list may hold only literal"),
        ("", "empty expression"),
        ("(", "syntax error"),
        ("a" * 501, "longer than 500"),
        ("f'{item}'", "JoinedStr is not allowed"),
    ],
)
def test_rejected(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        compile_expression(source)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_any_text_compiles_or_is_rejected_cleanly(source: str) -> None:
    try:
        fn = compile_expression(source)
    except ExpressionError:
        return
    fn(CTX)  # an accepted expression never raises at run time


def test_parse_events() -> None:
    assert ev.parse_event({"type": "tick", "now": "5"}) == ev.Tick(5.0)
    assert ev.parse_event({"type": "press", "action": "method", "value": "face"}) == ev.Press(
        "method", "face"
    )
    got = ev.parse_event(
        {
            "type": "licences_fetched",
            "licences": [{"id": "L1", "type": "hukou", "type_name": "户口簿"}],
        }
    )
    assert isinstance(got, ev.LicencesFetched) and got.licences[0].type == "hukou"
    failed = ev.parse_event(
        {"type": "effect_failed", "effect": "read_id_card", "reason": "no_card"}
    )
    assert failed == ev.EffectFailed(effect="read_id_card", reason="no_card")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "an event is a mapping, not list"),
        ({"type": "teleport"}, "unknown event type 'teleport'"),
        ({"type": "tick"}, "event 'tick': now: Field required"),
        ({"type": "tick", "now": "soon"}, "event 'tick': now: Input should be a valid number"),
        (
            {"type": "code_verified", "result": "maybe"},
            "event 'code_verified': result: Input should be",
        ),
    ],
)
def test_bad_events(raw: Any, message: str) -> None:
    with pytest.raises(ev.EventFormatError, match=message):
        ev.parse_event(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"type": st.sampled_from(sorted(ev.EVENT_TYPES))},
            optional={
                "now": json_values,
                "action": json_values,
                "licences": json_values,
                "request_id": json_values,
                "data": json_values,
            },
        ),
    )
)
def test_event_parser_never_crashes(raw: Any) -> None:
    try:
        event = ev.parse_event(raw)
    except ev.EventFormatError:
        return
    assert isinstance(event, ev.Event)


def test_id_numbers() -> None:
    # 17 digits of a synthetic number; the check character follows GB 11643
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491231002")
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("17000009999") == "170****9999"
