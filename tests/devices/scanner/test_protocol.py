"""Scanner protocol: framing under any chunking, payload decoding, AIM ids, commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.scanner.protocol import (
    HONEYWELL_TRIGGER_OFF,
    HONEYWELL_TRIGGER_ON,
    DuplicateFilter,
    Framer,
    PayloadEncoding,
    Suffix,
    TriggerProtocol,
    decode_payload,
    nadamoo_check,
    nadamoo_command,
    newland_command,
    parse_newland_reply,
    split_aim,
    trigger_commands,
)

# Text a scanner may carry: ASCII without the suffix bytes, and CJK (incl. GB18030-only
# extension characters beyond GB2312).
_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from("㐀䶵〇々・—“”"),
    ),
    min_size=1,
    max_size=40,
)
_encoded = st.tuples(_text, st.sampled_from(["utf-8", "gb18030"])).map(
    lambda te: te[0].encode(te[1])
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


@pytest.mark.parametrize("suffix", [Suffix.CR, Suffix.CRLF, Suffix.TAB])
@given(payloads=st.lists(_encoded, min_size=1, max_size=6), cuts=st.lists(st.integers(0, 10_000)))
@settings(max_examples=150, deadline=None)
def test_any_chunking_frames_the_same(
    suffix: Suffix, payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(p + suffix.terminator for p in payloads)
    framer = Framer(suffix)
    frames: list[bytes] = []
    for chunk in _chunks(stream, cuts):
        frames += framer.feed(chunk, 0.0)
    assert frames == payloads
    assert framer.pending() == 0


@given(payloads=st.lists(_encoded, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 999)))
@settings(max_examples=150, deadline=None)
def test_no_suffix_frames_on_the_inter_byte_gap(payloads: list[bytes], cuts: list[int]) -> None:
    framer = Framer(Suffix.NONE, gap_s=0.05)
    now, frames = 0.0, []
    for payload in payloads:
        for chunk in _chunks(payload, cuts):
            now += 0.001  # bytes of one scan arrive close together
            assert framer.feed(chunk, now) == []
            assert framer.flush_due(now) is None
        now += 0.06  # then the line goes quiet
        frame = framer.flush_due(now)
        assert frame is not None
        frames.append(frame)
    assert frames == payloads


@pytest.mark.parametrize("suffix", list(Suffix))
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 1000)))
@settings(max_examples=100, deadline=None)
def test_garbage_never_crashes_and_frames_stay_bounded(
    suffix: Suffix, data: bytes, cuts: list[int]
) -> None:
    framer = Framer(suffix, gap_s=0.05, gap_s_with_suffix=0.05, max_len=64)
    now = 0.0
    for chunk in _chunks(data, cuts):
        now += 0.01
        for frame in framer.feed(chunk, now):
            assert 0 < len(frame) <= 64
            decode_payload(frame)
    late = framer.flush_due(now + 1)
    assert late is None or len(late) <= 64
    assert framer.pending() == 0 or late is None


def test_over_long_frame_is_dropped_and_the_next_one_survives() -> None:
    framer = Framer(Suffix.CR, max_len=16)
    assert framer.feed(b"A" * 40, 0.0) == []
    assert framer.overflowed == 1
    assert framer.feed(b"B" * 5 + b"\rOK\r", 0.0) == [b"OK"]


def test_crlf_split_between_reads_and_empty_frames_ignored() -> None:
    framer = Framer(Suffix.CRLF)
    assert framer.feed(b"abc\r", 0.0) == []
    assert framer.feed(b"\n\r\ndef\r\n", 0.0) == [b"abc", b"def"]


def test_suffix_mode_partial_frame_flushed_only_when_asked() -> None:
    strict = Framer(Suffix.CR)
    strict.feed(b"lost-suffix", 0.0)
    assert strict.flush_due(100.0) is None
    lenient = Framer(Suffix.CR, gap_s_with_suffix=0.2)
    lenient.feed(b"lost-suffix", 0.0)
    assert lenient.flush_due(0.1) is None
    assert lenient.flush_due(0.2) == b"lost-suffix"


# --- payload decoding ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["济南市历下区泉城路1号", "鲁A·12345 测试", "全办自助终端", "㐀〇 GB18030 扩展"],
)
def test_gb18030_chinese_is_recognised(text: str) -> None:
    payload = decode_payload(text.encode("gb18030"))
    assert payload.encoding == "gb18030"
    assert payload.text == text


@pytest.mark.parametrize("text", ["济南市历下区", "https://例子.cn/路径", "№ 1 ✓"])
def test_utf8_is_recognised(text: str) -> None:
    payload = decode_payload(text.encode("utf-8"))
    assert payload.encoding == "utf-8"
    assert payload.text == text


def test_accented_latin_utf8_needs_the_encoding_configured() -> None:
    # The documented ambiguity: U+0080-U+07FF in UTF-8 reads as GB18030 Chinese in AUTO.
    raw = "Ünïcödé".encode()
    assert decode_payload(raw).encoding == "gb18030"
    assert decode_payload(raw, PayloadEncoding.UTF8).text == "Ünïcödé"


@given(_text)
def test_forced_gb18030_round_trips(text: str) -> None:
    assert decode_payload(text.encode("gb18030"), PayloadEncoding.GB18030).text == text


def test_binary_payloads_stay_bytes() -> None:
    raw = bytes([0x00, 0x01, 0xFF, 0x10, 0x80, 0x7F])
    payload = decode_payload(raw)
    assert payload.text is None and payload.encoding == "binary" and payload.raw == raw
    assert decode_payload(b"plain", PayloadEncoding.BINARY).text is None
    assert "plain" not in repr(decode_payload(b"plain"))


def test_ascii_and_forced_utf8_failure() -> None:
    assert decode_payload(b"ABC-123").encoding == "ascii"
    assert decode_payload("济南".encode("gb18030"), PayloadEncoding.UTF8).text is None


# --- AIM ids and commands ---------------------------------------------------------------------


def test_aim_identifiers() -> None:
    assert split_aim(b"]Q1hello") == ("qrcode", b"hello")
    assert split_aim(b"]C0ABC") == ("code128", b"ABC")
    assert split_aim(b"]E04006381333931") == ("ean13", b"4006381333931")
    assert split_aim(b"]d2data") == ("datamatrix", b"data")
    assert split_aim(b"]W9unknown") == (None, b"]W9unknown")
    assert split_aim(b"hello") == (None, b"hello")


def test_trigger_commands() -> None:
    hw = trigger_commands(TriggerProtocol.HONEYWELL)
    assert hw is not None
    assert hw.arm == bytes.fromhex("16540D") == HONEYWELL_TRIGGER_ON
    assert hw.disarm == bytes.fromhex("16550D") == HONEYWELL_TRIGGER_OFF
    assert trigger_commands(TriggerProtocol.NONE) is None
    custom = trigger_commands(TriggerProtocol.CUSTOM, arm_hex="1b31", disarm_hex="1b30")
    assert custom is not None and custom.arm == b"\x1b1"
    with pytest.raises(ValueError, match="hex"):
        trigger_commands(TriggerProtocol.CUSTOM, arm_hex="zz", disarm_hex="00")
    with pytest.raises(ValueError, match="both"):
        trigger_commands(TriggerProtocol.CUSTOM, arm_hex="00")


def test_newland_setup_commands() -> None:
    assert newland_command("99900030") == b"#99900030;"
    for bad in ["", "9990;0030", "中文", "x" * 33]:
        with pytest.raises(ValueError):
            newland_command(bad)
    reply, rest = parse_newland_reply(b"junk!99900030;tail")
    assert reply is not None and reply.ok and reply.body == "99900030" and rest == b"tail"
    reply, _ = parse_newland_reply(b"?0001;")
    assert reply is not None and not reply.ok
    assert parse_newland_reply(b"!incomplete") == (None, b"!incomplete")


def test_nadamoo_checksum_matches_the_published_commands() -> None:
    # PROTOCOLS.md §3: "USB virtual serial" and "host-trigger mode" commands from the manual.
    assert nadamoo_command(bytes.fromhex("08C6040800F20102")) == bytes.fromhex(
        "08C6040800F20102FE31"
    )
    assert nadamoo_command(bytes.fromhex("07C60408008A07")) == bytes.fromhex("07C60408008A07FE96")
    assert nadamoo_check(bytes.fromhex("07C60408008A07FE96"))
    assert not nadamoo_check(bytes.fromhex("07C60408008A07FE97"))
    assert not nadamoo_check(b"\x01")


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_filter_window() -> None:
    f = DuplicateFilter(window_s=1.0)
    assert f.accept(b"LTM1.abc", 0.0)
    assert not f.accept(b"LTM1.abc", 0.5)
    assert not f.accept(b"LTM1.abc", 1.2)  # still held: each read refreshes the window
    assert f.accept(b"LTM1.abc", 2.5)
    assert f.accept(b"other", 2.6)
    assert f.accept(b"LTM1.abc", 2.7)  # a different code came in between
    f.clear()
    assert f.accept(b"other", 2.8)


def test_duplicate_filter_keeps_no_payload() -> None:
    f = DuplicateFilter()
    f.accept(b"LTM1.secret-token", 0.0)
    state = repr(vars(f)).encode()
    assert b"secret-token" not in state
    assert DuplicateFilter(window_s=0).accept(b"x", 0.0)
    zero = DuplicateFilter(window_s=0)
    assert zero.accept(b"x", 0.0) and zero.accept(b"x", 0.0)
