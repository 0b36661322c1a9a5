"""Keyboard-wedge key mapping, driven by synthetic evdev event sequences (no /dev/input)."""

from __future__ import annotations

import pytest
from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from devices.scanner.keymap import (
    INPUT_EVENT,
    KeyEvent,
    KeyMapper,
    encode_input_event,
    parse_input_events,
    text_to_key_events,
)

E = ecodes


def press(code: int) -> list[InputEvent]:
    return [
        InputEvent(0, 0, E.EV_KEY, code, 1),
        InputEvent(0, 0, E.EV_SYN, E.SYN_REPORT, 0),
        InputEvent(0, 0, E.EV_KEY, code, 0),
        InputEvent(0, 0, E.EV_SYN, E.SYN_REPORT, 0),
    ]


def down(code: int) -> list[InputEvent]:
    return [InputEvent(0, 0, E.EV_KEY, code, 1)]


def up(code: int) -> list[InputEvent]:
    return [InputEvent(0, 0, E.EV_KEY, code, 0)]


def typed(events: list[InputEvent], mapper: KeyMapper | None = None) -> str:
    m = mapper or KeyMapper()
    # The driver converts python-evdev's InputEvent the same way.
    return m.feed_all(KeyEvent(e.type, e.code, e.value) for e in events)


def test_letters_digits_and_enter() -> None:
    seq = press(E.KEY_J) + press(E.KEY_N) + press(E.KEY_2) + press(E.KEY_0) + press(E.KEY_ENTER)
    assert typed(seq) == "jn20\r"


def test_left_and_right_shift() -> None:
    seq = (
        down(E.KEY_LEFTSHIFT) + press(E.KEY_J) + press(E.KEY_1) + up(E.KEY_LEFTSHIFT)
        + press(E.KEY_N)
        + down(E.KEY_RIGHTSHIFT) + press(E.KEY_SLASH) + press(E.KEY_MINUS) + up(E.KEY_RIGHTSHIFT)
        + press(E.KEY_SLASH)
    )  # fmt: skip
    assert typed(seq) == "J!n?_/"


def test_shift_stays_down_while_either_shift_is_held() -> None:
    seq = (
        down(E.KEY_LEFTSHIFT) + down(E.KEY_RIGHTSHIFT) + up(E.KEY_LEFTSHIFT)
        + press(E.KEY_A) + up(E.KEY_RIGHTSHIFT) + press(E.KEY_A)
    )  # fmt: skip
    assert typed(seq) == "Aa"


def test_caps_lock_inverts_letters_only() -> None:
    seq = (
        press(E.KEY_CAPSLOCK) + press(E.KEY_A) + press(E.KEY_1)
        + down(E.KEY_LEFTSHIFT) + press(E.KEY_A) + press(E.KEY_1) + up(E.KEY_LEFTSHIFT)
        + press(E.KEY_CAPSLOCK) + press(E.KEY_A)
    )  # fmt: skip
    assert typed(seq) == "A1a!a"


def test_ctrl_letters_give_control_characters() -> None:
    seq = down(E.KEY_LEFTCTRL) + press(E.KEY_M) + press(E.KEY_I) + press(E.KEY_1)
    mapper = KeyMapper()
    assert typed(seq + up(E.KEY_LEFTCTRL), mapper) == "\r\t"
    assert mapper.unmapped == 1  # Ctrl+1 types nothing


def test_keypad_repeat_alt_and_unknown_keys() -> None:
    mapper = KeyMapper()
    seq = (
        press(E.KEY_KP7) + press(E.KEY_KPDOT) + press(E.KEY_KPENTER)
        + [InputEvent(0, 0, E.EV_KEY, E.KEY_B, 2)]  # autorepeat: ignored
        + down(E.KEY_LEFTALT) + press(E.KEY_X) + up(E.KEY_LEFTALT)
        + press(E.KEY_F5)
        + [InputEvent(0, 0, E.EV_MSC, E.MSC_SCAN, 0x70004)]
    )  # fmt: skip
    assert typed(seq, mapper) == "7.\r"
    assert mapper.unmapped == 2


_ascii = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@given(_ascii)
def test_any_ascii_round_trips_through_key_events(text: str) -> None:
    assert KeyMapper().feed_all(text_to_key_events(text + "\r")) == text + "\r"


def test_non_ascii_cannot_be_typed_by_a_wedge() -> None:
    with pytest.raises(ValueError, match="U\\+6D4E"):
        list(text_to_key_events("济南"))


@given(_ascii, st.lists(st.integers(0, 10_000)))
def test_raw_input_event_records_under_any_chunking(text: str, cuts: list[int]) -> None:
    events = list(text_to_key_events(text))
    raw = b"".join(encode_input_event(e, 1_700_000_000, 123) for e in events)
    points = [*sorted({c % (len(raw) + 1) for c in cuts}), len(raw)]
    got: list[KeyEvent] = []
    rest, prev = b"", 0
    for p in points:
        parsed, rest = parse_input_events(rest + raw[prev:p])
        got += parsed
        prev = p
    assert got == events and rest == b""


def test_input_event_record_layout() -> None:
    # struct input_event on 64-bit Linux: timeval (2 x 8) + u16 type + u16 code + s32 value.
    assert INPUT_EVENT.size == 24
    rec = encode_input_event(KeyEvent(E.EV_KEY, E.KEY_A, 1))
    assert rec[16:] == bytes([1, 0, 30, 0, 1, 0, 0, 0])
