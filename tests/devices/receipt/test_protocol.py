"""ESC/POS byte building against python-escpos's expectations; status parsing; fuzzing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.errors import ProtocolError
from devices.receipt import protocol as p


def _hex(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def test_qr_golden_bytes(escpos_vectors: dict[str, Any]) -> None:
    calls = {
        "qr('1234', native=True)  # defaults: model 2, size 3, ec L": p.qr("1234"),
        "qr('1234', native=True, ec=QR_ECLEVEL_H)": p.qr("1234", ec=p.QrEc.H),
        "qr('1234', native=True, size=7)": p.qr("1234", size=7),
        "qr('1234', native=True, model=QR_MODEL_1)": p.qr("1234", model=1),
        "qr('', native=True)": p.qr(""),
    }
    cases = escpos_vectors["python_escpos_qr_native"]["cases"]
    assert {c["call"] for c in cases} == set(calls)
    for case in cases:
        assert calls[case["call"]] == _hex(case["bytes"]), case["call"]


def test_cut_text_and_constants_golden_bytes(escpos_vectors: dict[str, Any]) -> None:
    cut = escpos_vectors["python_escpos_cut"]
    assert p.cut(feed=False) == _hex(cut["cases"][0]["bytes"])
    consts = cut["constants_from_src/escpos/constants.py"]
    assert _hex(consts["HW_INIT"]) == p.INIT
    # Full cut: GS V 65 n (feed n, cut), the same command family as PAPER_FULL_CUT (GS V 0).
    assert p.cut(feed=False, partial=False) == _hex(consts["PAPER_FULL_CUT"])[:2] + b"A\x00"
    text = {c["call"]: _hex(c["bytes"]) for c in escpos_vectors["python_escpos_text"]["cases"]}
    assert p.textln("hello, world") == text["textln('hello, world')"]
    assert text["ln(3)"] == p.LF * 3


def test_chinese_text_goes_out_in_kanji_mode_as_gb18030() -> None:
    data = p.text("受理回执 No.1")
    assert data == b"\x1c&" + "受理回执 No.1".encode("gb18030") + b"\x1c."
    assert p.text("plain") == b"plain"
    # A character outside GBK still has a GB18030 four-byte form (python-escpos prints "?").
    assert p.text("𠮷")[2:-2] == "𠮷".encode("gb18030") and len(p.text("𠮷")) == 8


def test_barcode_and_raster_bytes() -> None:
    assert p.barcode("AB{1", height=50) == b"\x1dH\x02\x1dh\x32\x1dk\x49\x07{BAB{{1"
    assert p.raster(9, 2, b"\xff\x80\x01\x00") == b"\x1dv0\x00\x02\x00\x02\x00\xff\x80\x01\x00"
    with pytest.raises(ValueError, match="does not match"):
        p.raster(9, 2, b"\x00")
    assert p.char_size(2, 3) == b"\x1d!\x12"


def test_status_cases_from_python_escpos_and_printer_docs(escpos_vectors: dict[str, Any]) -> None:
    for case in escpos_vectors["python_escpos_status"]["cases"]:
        if case.get("reply_to") == "10 04 04" and case["reply"]:
            status = p.parse_status({4: int(case["reply"], 16)})
            expected = {2: "ok", 1: "near_end", 0: "out"}[case["paper_status"]]
            assert status.paper == expected
        elif case.get("reply_to") == "10 04 01":
            assert not p.parse_status({1: int(case["reply"], 16)}).offline
        elif "invalid" in case:
            for reply in case["invalid"]:
                with pytest.raises(ProtocolError):
                    p.parse_status_reply(_hex(reply))
            for value in case["valid_single_byte_replies"]:
                p.check_status_byte(int(value, 16))
    # An out-of-paper printer (docs.rs hardless-http-dialects): 1A / 32 / 7E.
    oop = escpos_vectors["hardless_http_dialects_out_of_paper"]["cases"][0]
    status = p.parse_status(
        {1: int(oop["dle_eot_1"], 16), 2: int(oop["dle_eot_2"], 16), 4: int(oop["dle_eot_4"], 16)}
    )
    assert status.paper_out and status.paper_near_end and status.offline
    assert status.fault == "paper_out"
    # escpos-netprinter's all-clear answers (16 = drawer pin high) parse as "can print".
    for case in escpos_vectors["escpos_netprinter_dle_eot"]["cases"]:
        raw = _hex(case["send"])
        if len(raw) == 3 and 1 <= raw[2] <= 4:
            assert p.parse_status({raw[2]: int(case["reply"], 16)}).fault is None


def test_empty_reply_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="expected 4 status bytes"):
        p.parse_status_reply(b"")


@pytest.mark.parametrize(
    ("flags", "fault", "paper"),
    [
        ({}, None, "ok"),
        ({"paper_near_end": True}, None, "near_end"),
        ({"paper_out": True}, "paper_out", "out"),
        ({"cover_open": True}, "cover_open", "ok"),
        ({"offline": True}, "offline", "ok"),
        ({"cutter_error": True}, "cutter_error", "ok"),
    ],
)
def test_each_condition_round_trips_through_the_status_bytes(
    flags: dict[str, bool], fault: str | None, paper: str
) -> None:
    replies = p.status_bytes(**flags)
    status = p.parse_status_reply(bytes(replies[n] for n in (1, 2, 3, 4)))
    assert status.fault == fault
    assert status.paper == paper
    assert status.detail()["cover"] == ("open" if flags.get("cover_open") else "closed")


def test_every_combination_of_conditions_parses() -> None:
    names = ("offline", "cover_open", "paper_near_end", "paper_out", "cutter_error")
    for combo in itertools.product((False, True), repeat=len(names)):
        flags = dict(zip(names, combo, strict=True))
        s = p.parse_status_reply(bytes(p.status_bytes(**flags).values()))
        assert s.cover_open == flags["cover_open"]
        assert s.cutter_error == flags["cutter_error"]
        assert (s.paper == "out") == flags["paper_out"]
        assert (s.fault is None) == (not any(v for k, v in flags.items() if k != "paper_near_end"))


def test_paper_sensor_gs_r() -> None:
    assert p.parse_paper_sensor(0x00) == "ok"
    assert p.parse_paper_sensor(0x03) == "near_end"
    assert p.parse_paper_sensor(0x0F) == "out"
    with pytest.raises(ProtocolError):
        p.parse_paper_sensor(0x90)


@given(st.binary(max_size=8))
def test_fuzz_status_reply_parsing_only_raises_protocol_error(data: bytes) -> None:
    try:
        status = p.parse_status_reply(data)
    except ProtocolError:
        return
    assert len(data) == 4 and all(b & 0x93 == 0x12 for b in data)
    assert status.paper in ("ok", "near_end", "out")


@given(st.integers(min_value=-1, max_value=300))
def test_fuzz_single_status_bytes(value: int) -> None:
    try:
        p.check_status_byte(value)
    except ProtocolError:
        assert not (0 <= value <= 0xFF and value & 0x93 == 0x12)
    else:
        assert value & 0x93 == 0x12
    try:
        paper = p.parse_paper_sensor(value)
    except ProtocolError:
        assert not (0 <= value <= 0xFF) or value & 0x90
    else:
        assert paper in ("ok", "near_end", "out")
