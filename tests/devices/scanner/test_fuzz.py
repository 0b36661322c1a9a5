"""Garbage from outside never crashes a parser: hypothesis over every byte-level input."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from devices.scanner.classify import Classifier
from devices.scanner.emulator import ScannerEmulator
from devices.scanner.keymap import KeyMapper, parse_input_events
from devices.scanner.protocol import (
    HONEYWELL_TRIGGER_ON,
    PayloadEncoding,
    decode_payload,
    parse_newland_reply,
    split_aim,
)


@given(st.binary(max_size=300), st.sampled_from(list(PayloadEncoding)))
def test_decode_and_classify_any_bytes(raw: bytes, encoding: PayloadEncoding) -> None:
    payload = decode_payload(raw, encoding)
    assert payload.raw == raw
    if payload.text is not None:
        assert payload.text.encode("gb18030" if payload.encoding == "gb18030" else "utf-8") == raw
    Classifier().classify(payload)


@given(st.binary(max_size=64))
def test_aim_and_newland_replies_on_any_bytes(raw: bytes) -> None:
    name, rest = split_aim(raw)
    assert rest == raw if name is None else raw.endswith(rest) and len(rest) == len(raw) - 3
    reply, tail = parse_newland_reply(raw)
    assert reply is not None or tail == raw


@given(st.binary(max_size=24 * 20))
def test_input_event_records_and_key_mapping_on_any_bytes(raw: bytes) -> None:
    events, rest = parse_input_events(raw)
    assert len(events) == len(raw) // 24 and len(rest) == len(raw) % 24
    mapper = KeyMapper()
    for e in events:
        ch = mapper.feed(e)
        assert ch is None or len(ch) == 1


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=80))
@example(b"$$$$#123")  # a setup command that never ends
@example(b"$$$$#" + b"9" * 40)
def test_emulator_survives_any_host_bytes(noise: bytes) -> None:
    emu = ScannerEmulator(trigger="honeywell", baudrate=None)
    try:
        emu.host_write(noise)
        emu.host_write(b"%%%%\x16U\r")  # leave setup mode, disarm: a known state
        emu.host_write(HONEYWELL_TRIGGER_ON)
        assert emu.armed
    finally:
        emu.close()
