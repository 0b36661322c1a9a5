"""SAM protocol: golden frames from the public vectors, the stream decoder, SW3 mapping."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.exit_codes import ExitCode
from devices.errors import ProtocolError, Remediation
from devices.idcard.errors import (
    CardDataError,
    CardReadFailedError,
    FrameChecksumError,
    FrameLengthError,
    NoCardError,
    ReaderRejectedCommandError,
    SamFailureError,
    VendorVariantError,
)
from devices.idcard.protocol import (
    PREAMBLE,
    SW3_CODES,
    CardBlocks,
    Command,
    CommandFrame,
    FrameDecoder,
    FrameFault,
    RawFrame,
    Reply,
    checksum,
    decode_all,
    decode_appended_address,
    decode_sam_id,
    encode_appended_address,
    encode_card_blocks,
    encode_command,
    encode_reply,
    encode_sam_id,
    encode_set_baud,
    error_for,
    iter_frames,
    parse_card_blocks,
)
from tests.devices.idcard.helpers import VECTORS

SAM_FRAMES: list[dict[str, Any]] = json.loads((VECTORS / "sam_short_frames.json").read_text())
_VECTOR_COMMANDS = {
    "reset_sam": Command.RESET_SAM,
    "sam_status": Command.SAM_STATUS,
    "find_card": Command.FIND_CARD,
    "select_card": Command.SELECT_CARD,
    "read_text_photo": Command.READ_TEXT_PHOTO,
    "read_text_photo_fp": Command.READ_TEXT_PHOTO_FP,
}
_VECTOR_REPLIES: dict[str, tuple[int, type[Exception] | None]] = {
    "sam_status_ok": (0x90, None),
    "sam_selftest_fail_0x60": (0x60, SamFailureError),
    "find_ok_0x9F": (0x9F, None),
    "find_fail_0x80": (0x80, NoCardError),
    "select_ok_0x90": (0x90, None),
    "select_fail_0x81": (0x81, CardReadFailedError),
    "read_fail_0x41": (0x41, CardReadFailedError),
}


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def test_the_vector_file_covers_every_named_frame() -> None:
    names = {v["name"] for v in SAM_FRAMES}
    assert names == set(_VECTOR_COMMANDS) | set(_VECTOR_REPLIES)


@pytest.mark.parametrize("vector", [v for v in SAM_FRAMES if v["direction"] == "cmd"])
def test_command_frames_match_the_public_vectors(vector: dict[str, Any]) -> None:
    assert encode_command(_VECTOR_COMMANDS[vector["name"]]) == _hex(vector["hex"])


@pytest.mark.parametrize("vector", [v for v in SAM_FRAMES if v["direction"] == "rsp"])
def test_reply_vectors_decode_and_map_to_their_error(vector: dict[str, Any]) -> None:
    items = decode_all(_hex(vector["hex"]))
    assert len(items) == 1 and isinstance(items[0], RawFrame)
    reply = Reply.from_frame(items[0])
    sw3, err_cls = _VECTOR_REPLIES[vector["name"]]
    assert reply.sw3 == sw3
    err = error_for(reply, "test")
    if err_cls is None:
        assert err is None
    else:
        assert type(err) is err_cls
    # and the encoder produces the same bytes
    assert encode_reply(reply.sw3, reply.data, reply.sw1, reply.sw2) == _hex(vector["hex"])


def test_the_whole_command_table_from_protocols_md() -> None:
    tail = {
        Command.SAM_ID: "00 03 12 FF EE",
        Command.READ_APPENDED_ADDRESS: "00 03 30 03 30",
        Command.READ_TEXT_PHOTO_FP: "00 03 30 10 23",
    }
    for command, hex_tail in tail.items():
        assert encode_command(command) == PREAMBLE + _hex(hex_tail)
    # 60 00..04: set baud 115200 / 57600 / 38400 / 19200 / 9600, CHK 63 62 61 60 67
    bauds = (115200, 57600, 38400, 19200, 9600)
    for i, (baud, chk) in enumerate(zip(bauds, ["63", "62", "61", "60", "67"], strict=True)):
        assert encode_set_baud(baud) == PREAMBLE + _hex(f"00 03 60 0{i} {chk}")
    with pytest.raises(ValueError):
        encode_set_baud(4800)


def test_checksum_is_the_xor_from_len_to_the_last_data_byte() -> None:
    assert checksum(_hex("00 03 10 FF")) == 0xEC
    assert checksum(b"") == 0


def test_reply_lengths_of_the_read_commands() -> None:
    text, photo = bytes(256), bytes(1024)
    assert (
        len(encode_reply(0x90, encode_card_blocks(CardBlocks(text, photo), with_fingerprint=False)))
        == 1295
    )
    for fp_len, total, len_field in (
        (0, 1297, "05 0A"),
        (512, 1809, "07 0A"),
        (1024, 2321, "09 0A"),
    ):
        frame = encode_reply(
            0x90, encode_card_blocks(CardBlocks(text, photo, bytes(fp_len)), with_fingerprint=True)
        )
        assert len(frame) == total
        assert frame[5:7] == _hex(len_field)
        (item,) = decode_all(frame)
        assert isinstance(item, RawFrame)
        blocks = parse_card_blocks(Reply.from_frame(item).data, with_fingerprint=True)
        assert len(blocks.fingerprint) == fp_len and len(blocks.photo) == 1024


def test_card_blocks_with_inconsistent_lengths_are_rejected() -> None:
    good = encode_card_blocks(CardBlocks(bytes(256), bytes(1024)), with_fingerprint=False)
    with pytest.raises(CardDataError):
        parse_card_blocks(good[:-1], with_fingerprint=False)
    with pytest.raises(CardDataError):
        parse_card_blocks(b"\x01", with_fingerprint=False)
    short_text = encode_card_blocks(CardBlocks(bytes(200), bytes(1024)), with_fingerprint=False)
    with pytest.raises(CardDataError, match="text block"):
        parse_card_blocks(short_text, with_fingerprint=False)
    assert "bytes" in repr(CardBlocks(b"x" * 256, b""))  # repr shows sizes, not content
    assert "x" * 10 not in repr(CardBlocks(b"x" * 256, b""))


# --- the stream decoder -------------------------------------------------------------------

FIND_OK = _hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
FIND_FAIL = _hex("AA AA AA 96 69 00 04 00 00 80 84")


def test_field_glitch_aa_00_aa_aa_96_69_decodes() -> None:
    stream = _hex("AA 00") + FIND_FAIL
    items = decode_all(stream)
    assert items == [RawFrame(FIND_FAIL[7:-1])]


def test_stray_bytes_before_between_and_after_frames_are_ignored() -> None:
    dec = FrameDecoder()
    items = dec.feed(b"\x00\x13garbage" + FIND_OK + b"\xaa\x55" + FIND_FAIL + b"\x7f")
    assert iter_frames(items) == [RawFrame(FIND_OK[7:-1]), RawFrame(FIND_FAIL[7:-1])]
    assert all(isinstance(i, RawFrame) for i in items)
    assert dec.skipped >= 9


def test_bad_checksum_is_reported_and_the_next_frame_still_decodes() -> None:
    bad = FIND_FAIL[:-1] + bytes([FIND_FAIL[-1] ^ 1])
    items = decode_all(bad + FIND_OK)
    assert isinstance(items[0], FrameFault) and isinstance(items[0].error, FrameChecksumError)
    assert items[-1] == RawFrame(FIND_OK[7:-1])


def test_vendor_variant_preamble_is_rejected_with_a_clear_error() -> None:
    variant = _hex("AA AA AA A5 5A 05 08 00 00 90") + bytes(20)
    items = decode_all(variant + FIND_FAIL)
    assert isinstance(items[0], FrameFault)
    assert isinstance(items[0].error, VendorVariantError)
    assert "A5 5A" in items[0].error.reason
    assert items[0].error.exit_code == ExitCode.PROTOCOL_ERROR
    assert items[-1] == RawFrame(FIND_FAIL[7:-1])


def test_impossible_lengths_are_faults_not_hangs() -> None:
    for length in (b"\x00\x00", b"\x00\x02", b"\xff\xff"):
        items = decode_all(PREAMBLE + length + FIND_FAIL)
        assert isinstance(items[0], FrameFault)
        assert isinstance(items[0].error, FrameLengthError)
        assert items[-1] == RawFrame(FIND_FAIL[7:-1])


def test_a_truncated_frame_stays_pending_and_is_reported_by_size() -> None:
    dec = FrameDecoder()
    assert dec.feed(FIND_OK[:9]) == []
    assert dec.pending == 9
    assert dec.wanted == len(FIND_OK) - 9
    dec.reset()
    assert dec.pending == 0 and dec.wanted == 1


def test_command_frames_parse_back() -> None:
    (item,) = decode_all(encode_set_baud(19200))
    assert isinstance(item, RawFrame)
    frame = CommandFrame.from_frame(item)
    assert frame.command() == Command.SET_BAUD and frame.para == 3
    (item,) = decode_all(encode_command(Command.READ_APPENDED_ADDRESS))
    assert isinstance(item, RawFrame)
    assert CommandFrame.from_frame(item).command() == Command.READ_APPENDED_ADDRESS


valid_replies = st.builds(
    encode_reply,
    st.sampled_from(sorted(SW3_CODES)),
    st.binary(max_size=300),
    st.integers(0, 255),
    st.integers(0, 255),
)
# Stray bytes without 0xAA can never start a preamble, so they cannot swallow a frame.
stray = st.binary(max_size=8).map(lambda b: bytes(x for x in b if x != 0xAA))


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(st.tuples(stray, valid_replies), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=30),
)
def test_any_chunking_of_a_valid_stream_decodes_the_same(
    frames: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(s + f for s, f in frames)
    whole = decode_all(stream)
    assert iter_frames(whole) == [decode_all(f)[0] for _s, f in frames]
    assert all(isinstance(i, RawFrame) for i in whole)
    dec = FrameDecoder()
    chunked: list[Any] = []
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for a, b in itertools.pairwise(points):
        chunked += dec.feed(stream[a:b])
    assert chunked == whole


@settings(max_examples=300, deadline=2000)
@given(data=st.binary(max_size=4000), chunk=st.integers(min_value=1, max_value=600))
def test_random_bytes_never_crash_or_hang(data: bytes, chunk: int) -> None:
    dec = FrameDecoder()
    out: list[Any] = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk])
    for item in out:
        assert isinstance(item, RawFrame | FrameFault)
        if isinstance(item, RawFrame):
            try:
                reply = Reply.from_frame(item)
            except ProtocolError:
                continue
            err = error_for(reply, "fuzz")
            assert err is None or err.exit_code != ExitCode.OK
    assert dec.pending <= 7 + 0x0A00
    assert dec.wanted >= 1


@settings(max_examples=100, deadline=None)
@given(garbage=stray, reply=valid_replies)
def test_after_garbage_without_a_preamble_the_next_frame_decodes(
    garbage: bytes, reply: bytes
) -> None:
    assert iter_frames(decode_all(garbage + reply)) == decode_all(reply)


# --- status codes -------------------------------------------------------------------------


def test_every_sw3_of_the_table_is_mapped() -> None:
    table = {0x90, 0x9F, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41}
    table |= {0x47, 0x60, 0x66, 0x80, 0x81}
    assert set(SW3_CODES) == table
    for sw3, info in SW3_CODES.items():
        err = error_for(Reply(0, 0, sw3, b""), "cmd")
        if info.error is None:
            assert err is None
            continue
        assert isinstance(err, info.error)
        assert err.code == info.name
        assert err.reason and err.consequence
        assert f"SW3={sw3:02X}" in err.reason
        assert err.exit_code != ExitCode.OK


@pytest.mark.parametrize(
    ("sw3", "cls", "remediation", "exit_code"),
    [
        (0x60, SamFailureError, Remediation.MAINTENANCE, ExitCode.SAM_FAILURE),
        (0x66, SamFailureError, Remediation.MAINTENANCE, ExitCode.SAM_FAILURE),
        (0x80, NoCardError, Remediation.CITIZEN, ExitCode.NO_CARD),
        (0x81, CardReadFailedError, Remediation.CITIZEN, ExitCode.CARD_READ_FAILED),
        (0x41, CardReadFailedError, Remediation.CITIZEN, ExitCode.CARD_READ_FAILED),
        (0x33, CardReadFailedError, Remediation.STAFF, ExitCode.CARD_READ_FAILED),
        (0x10, ReaderRejectedCommandError, Remediation.RESET, ExitCode.PROTOCOL_ERROR),
        (0x21, ReaderRejectedCommandError, Remediation.RESET, ExitCode.PROTOCOL_ERROR),
    ],
)
def test_sw3_hints(
    sw3: int, cls: type[Exception], remediation: Remediation, exit_code: int
) -> None:
    err = error_for(Reply(0, 0, sw3, b""), "cmd")
    assert isinstance(err, cls)
    assert err.remediation == remediation
    assert err.exit_code == exit_code


def test_unknown_sw3_is_a_protocol_error() -> None:
    err = error_for(Reply(0x6A, 0x82, 0x55, b""), "find card")
    assert isinstance(err, ProtocolError) and err.code == "unknown_status"
    assert "SW3=55" in err.reason


# --- SAM ID, appended address ---------------------------------------------------------------


def test_sam_id_decodes_in_the_hslcommunication_format() -> None:
    data = _hex("05 00 01 00 0C 72 33 01 87 D6 12 00 39 38 4E 05")
    # 0x0133720C = 20148748, 0x0012D687 = 1234567, 0x054E3839 = 89012281
    assert decode_sam_id(data) == "05.01-20148748-001234567-089012281"
    assert (
        decode_sam_id(encode_sam_id(5, 1, 20161012, 7, 42)) == "05.01-20161012-000000007-000000042"
    )
    with pytest.raises(ProtocolError):
        decode_sam_id(bytes(15))


def test_appended_address_round_trip() -> None:
    data = encode_appended_address("山东省济南市市中区经四路2号")
    assert len(data) == 70
    assert decode_appended_address(data) == "山东省济南市市中区经四路2号"
    with pytest.raises(CardDataError):
        decode_appended_address(b"\x00")
    with pytest.raises(ValueError):
        encode_appended_address("长" * 36)
