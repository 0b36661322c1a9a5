"""The rh/1 envelope parser: round trip, every refusal reason, and fuzzing with outside bytes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.remote.envelope import (
    ASSISTANT_TYPES,
    KIOSK_TYPES,
    MAX_BYTES,
    Envelope,
    EnvelopeError,
    encode,
    parse,
)

GOOD = {
    "v": "rh/1",
    "sid": "s-1",
    "from": "assistant",
    "seq": 3,
    "id": "a-3",
    "type": "intent.field",
    "base_rev": 4,
    "body": {"field": "x", "value": "张"},
}


def test_round_trip() -> None:
    env = parse(json.dumps(GOOD))
    assert env == Envelope(
        "s-1", "assistant", 3, "a-3", "intent.field", {"field": "x", "value": "张"}, None, 4
    )
    assert parse(encode(env)) == env


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"v": "rh/2"}, "version"),
        ({"sid": "bad sid"}, "bad_field"),
        ({"from": "platform"}, "bad_field"),
        ({"id": ""}, "bad_field"),
        ({"type": "intent.click"}, "unknown_type"),
        ({"type": "snapshot"}, "wrong_sender"),
        ({"seq": 0}, "bad_field"),
        ({"seq": "1"}, "bad_field"),
        ({"seq": True}, "bad_field"),
        ({"seq": 2**60}, "bad_field"),
        ({"base_rev": None}, "missing"),
        ({"body": []}, "bad_field"),
    ],
)
def test_refusals(change: dict[str, object], reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        parse(json.dumps({**GOOD, **change}))
    assert info.value.reason == reason


def test_size_not_json_and_not_object() -> None:
    for data, reason in [
        (b"x" * (MAX_BYTES + 1), "too_large"),
        (b"\xff\xfe", "not_json"),
        (b"[1]", "not_object"),
        (b'{"v":"rh/1","x":NaN}', "not_json"),
    ]:
        with pytest.raises(EnvelopeError) as info:
            parse(data)
        assert info.value.reason == reason
    big = Envelope("s", "kiosk", 1, "k-1", "snapshot", {"x": "字" * MAX_BYTES})
    with pytest.raises(EnvelopeError, match="too_large"):
        encode(big)


def test_each_side_may_send_only_its_own_types() -> None:
    assert not KIOSK_TYPES & ASSISTANT_TYPES
    for t in KIOSK_TYPES:
        parse(json.dumps({**GOOD, "from": "kiosk", "type": t}))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_garbage_bytes_only_ever_raise_envelope_error(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        parse(data)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), JSONISH, max_size=4))
def test_mutated_envelopes_parse_or_raise_envelope_error(change: dict[str, object]) -> None:
    try:
        env = parse(json.dumps({**GOOD, **change}))
    except EnvelopeError:
        return
    assert parse(encode(env)) == env
