"""The driver over a real pty against the emulator: reads, every fault switch, card events."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from config.exit_codes import ExitCode
from devices.base import CommandFailed, DeviceEvent, DeviceState, StatusChanged
from devices.errors import (
    CommandCancelledError,
    DeviceLostError,
    DeviceNotFoundError,
    DeviceTimeoutError,
    ProtocolError,
    Remediation,
)
from devices.idcard.driver import CardPresented, CardRemoved, CardState, SamIdCardReader
from devices.idcard.emulator import BUILTIN_CARDS, Fault, PtyPort, SamReaderEmulator, load_card
from devices.idcard.errors import (
    BadCheckDigitError,
    FrameChecksumError,
    NoCardError,
    SamFailureError,
)
from devices.idcard.model import CardType
from tests.devices.idcard.conftest import ReaderFactory
from tests.devices.idcard.helpers import DATA, Recorder, wait_until


def _state(state: DeviceState) -> Callable[[DeviceEvent], bool]:
    return lambda e: isinstance(e, StatusChanged) and e.status.state == state


def _online(reader: SamIdCardReader, rec: Recorder) -> None:
    reader.start()
    rec.wait_for(_state(DeviceState.ONLINE))


def test_identify_reports_the_sam_id(
    pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path, poll=False)
    _online(reader, rec)
    ident = reader.identity
    assert ident is not None
    assert ident.extra["sam_id"] == "05.01-20161012-001234567-089012345"
    assert ident.driver == "idcard_sam"
    assert reader.self_test().wait(5)["sam_status"] == "ok"


@pytest.mark.parametrize("name", BUILTIN_CARDS)
def test_reads_every_card_type_over_a_pty(
    name: str, emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    card = load_card(name)
    emulator.place(card)
    reader = make_reader(pty_port.path, poll=False)
    got = reader.read_card(timeout=5).wait(10)
    got.appended_address = card.appended_address  # 30 03 was not asked for
    got.fingerprint = card.fingerprint  # nor 30 10
    assert got == card
    assert emulator.counts["find_card"] == 1
    assert emulator.counts["select_card"] == 1
    assert emulator.counts["read_text_photo"] == 1


@pytest.mark.parametrize("fp_len", [0, 512, 1024])
def test_read_with_fingerprint_30_10(
    fp_len: int, emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    card = load_card("resident")
    card.fingerprint = bytes(range(256)) * (fp_len // 256)
    emulator.place(card)
    reader = make_reader(pty_port.path, poll=False)
    got = reader.read_card(fingerprint=True, timeout=5).wait(10)
    assert got.fingerprint == card.fingerprint
    assert emulator.counts["read_text_photo_fp"] == 1


def test_appended_address_30_03_and_empty_item_91(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    emulator.place(load_card("resident_long_term"))
    reader = make_reader(pty_port.path, poll=False)
    got = reader.read_card(appended_address=True, timeout=5).wait(10)
    assert got.appended_address == "山东省济南市市中区经四路2号"
    emulator.lift()
    emulator.place(load_card("resident"))  # no appended address: SW3 91
    got = reader.read_card(appended_address=True, timeout=5).wait(10)
    assert got.appended_address is None
    assert emulator.counts["read_appended_address"] == 2


def test_fault_no_card(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    emulator.set_fault(Fault.NO_CARD)
    reader = make_reader(pty_port.path, poll=False)
    with pytest.raises(NoCardError) as info:
        reader.read_card(timeout=5).wait(10)
    assert info.value.exit_code == ExitCode.NO_CARD
    assert info.value.remediation == Remediation.CITIZEN
    assert any("20 01" in f for f in info.value.frames)  # the wire dump rides along
    emulator.set_fault(Fault.NO_CARD, on=False)
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_fault_sam_failure_at_start_and_recovery(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    emulator.set_fault(Fault.SAM_FAILURE)
    reader = make_reader(pty_port.path)
    reader.start()
    event = rec.wait_for(_state(DeviceState.HARDWARE_ERROR))
    assert isinstance(event, StatusChanged)
    assert isinstance(event.status.error, SamFailureError)
    assert event.status.error.remediation == Remediation.MAINTENANCE
    assert event.status.error.exit_code == ExitCode.SAM_FAILURE
    with pytest.raises(SamFailureError):
        reader.read_card(timeout=5).wait(10)
    mark = rec.mark()
    emulator.set_fault(Fault.SAM_FAILURE, on=False)
    rec.wait_for(_state(DeviceState.ONLINE), since=mark)
    assert reader.identity is not None


def test_fault_sam_failure_while_polling(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path)
    _online(reader, rec)
    mark = rec.mark()
    emulator.set_fault(Fault.SAM_FAILURE)
    rec.wait_for(_state(DeviceState.HARDWARE_ERROR), since=mark)
    mark = rec.mark()
    emulator.set_fault(Fault.SAM_FAILURE, on=False)
    rec.wait_for(_state(DeviceState.ONLINE), since=mark)


def test_fault_garbled_frame_is_a_protocol_error(
    emulator: SamReaderEmulator,
    pty_port: PtyPort,
    make_reader: ReaderFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = make_reader(pty_port.path, poll=False)
    assert reader.read_card(timeout=5).wait(10).card_type == CardType.RESIDENT
    emulator.lift()
    emulator.place()
    emulator.set_fault(Fault.GARBLED)
    with (
        caplog.at_level(logging.WARNING, logger="devices.idcard.driver"),
        pytest.raises(FrameChecksumError) as info,
    ):
        reader.read_card(timeout=5).wait(10)
    assert isinstance(info.value, ProtocolError)
    assert info.value.exit_code == ExitCode.PROTOCOL_ERROR
    assert any("bad_checksum" in r.getMessage() for r in caplog.records)
    emulator.set_fault(Fault.GARBLED, on=False)
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_fault_stall_times_out_and_polling_marks_offline(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path, reply_timeout=0.3)
    _online(reader, rec)
    mark = rec.mark()
    emulator.set_fault(Fault.STALL)
    with pytest.raises(DeviceTimeoutError) as info:
        reader.read_card(timeout=1.0).wait(10)
    assert info.value.exit_code == ExitCode.DEVICE_TIMEOUT
    rec.wait_for(_state(DeviceState.OFFLINE), since=mark)
    mark = rec.mark()
    emulator.set_fault(Fault.STALL, on=False)
    rec.wait_for(_state(DeviceState.ONLINE), since=mark)
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_a_stalled_read_can_be_cancelled(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path, poll=False, reply_timeout=30)
    _online(reader, rec)
    emulator.set_fault(Fault.STALL)
    handle = reader.read_card(timeout=60)
    wait_until(lambda: emulator.counts.get("find_card", 0) == 1)
    handle.cancel()
    with pytest.raises(CommandCancelledError):
        handle.wait(10)


def test_fault_unplug_replug_gives_lost_and_recovered(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path)
    _online(reader, rec)
    first_tty = pty_port.tty_name
    mark = rec.mark()
    pty_port.unplug()
    lost = rec.wait_for(_state(DeviceState.NO_DEVICE), since=mark)
    assert isinstance(lost, StatusChanged)
    assert lost.status.error is not None
    assert lost.status.error.code in ("device_lost", "device_not_found")
    with pytest.raises(DeviceNotFoundError):  # DeviceLostError is one too
        reader.read_card(timeout=2).wait(5)
    mark = rec.mark()
    pty_port.replug()
    rec.wait_for(_state(DeviceState.ONLINE), since=mark)
    assert pty_port.tty_name  # a new pty behind the same link
    assert first_tty
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_unplug_during_a_read_fails_the_command_as_lost(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path, poll=False, reply_timeout=30)
    _online(reader, rec)
    emulator.set_fault(Fault.STALL)
    handle = reader.read_card(timeout=30)
    wait_until(lambda: emulator.counts.get("find_card", 0) == 1)
    pty_port.unplug()
    with pytest.raises(DeviceLostError):
        handle.wait(10)
    failed = rec.wait_for(lambda e: isinstance(e, CommandFailed))
    assert isinstance(failed, CommandFailed) and failed.command == "read_card"


def test_fault_slow_card(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    emulator.slow_card_delay = 0.5
    emulator.set_fault(Fault.SLOW_CARD)
    patient = make_reader(pty_port.path, poll=False, reply_timeout=2.0)
    assert patient.read_card(timeout=10).wait(15).name == "张三"
    patient.stop()
    emulator.lift()
    emulator.place()
    # A driver that allows less than the card's delay gives up on it: the fault is real.
    hasty = make_reader(pty_port.path, poll=False, reply_timeout=0.1)
    with pytest.raises(DeviceTimeoutError):
        hasty.read_card(timeout=10).wait(15)


def test_card_presented_and_removed_events(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    emulator.lift()
    reader = make_reader(pty_port.path)
    _online(reader, rec)
    wait_until(lambda: reader.card_state == CardState.ABSENT)
    assert not rec.of_type(CardPresented)
    mark = rec.mark()
    emulator.place()
    rec.wait_for(lambda e: isinstance(e, CardPresented), since=mark)
    assert reader.status.detail["card"] == "present"
    mark = rec.mark()
    emulator.lift()
    rec.wait_for(lambda e: isinstance(e, CardRemoved), since=mark)
    assert reader.status.detail["card"] == "absent"


def test_removal_rule_read_card_stays_until_lifted(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path)
    _online(reader, rec)
    rec.wait_for(lambda e: isinstance(e, CardPresented))
    assert reader.read_card(timeout=5).wait(10).name == "张三"
    assert reader.card_state == CardState.READ
    # Still on the reader: find fails (the protection rule), so a second read finds no card…
    with pytest.raises(NoCardError):
        reader.read_card(timeout=5).wait(10)
    # …and the idle poll's select probe keeps it "read" instead of reporting a removal.
    selects = emulator.counts.get("select_card", 0)
    wait_until(lambda: emulator.counts.get("select_card", 0) >= selects + 3)
    assert not rec.of_type(CardRemoved)
    assert reader.card_state == CardState.READ
    mark = rec.mark()
    emulator.lift()
    rec.wait_for(lambda e: isinstance(e, CardRemoved), since=mark)
    mark = rec.mark()
    emulator.place()
    rec.wait_for(lambda e: isinstance(e, CardPresented), since=mark)
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_removal_without_the_select_probe_is_seen_when_the_card_returns(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader(pty_port.path, removal_probe="none")
    _online(reader, rec)
    assert reader.read_card(timeout=5).wait(10).name == "张三"
    emulator.lift()
    finds = emulator.counts["find_card"]
    wait_until(lambda: emulator.counts["find_card"] >= finds + 3)
    assert not rec.of_type(CardRemoved)  # cannot tell "lifted" from "still there"
    assert emulator.counts.get("select_card", 0) == 1  # only the read's own select
    mark = rec.mark()
    emulator.place()
    rec.wait_for(lambda e: isinstance(e, CardPresented), since=mark)
    assert rec.of_type(CardRemoved, since=mark)


def test_set_baud_and_reset(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    reader = make_reader(pty_port.path, poll=False)
    assert reader.set_baud(57600).wait(10) == 57600
    assert emulator.baudrate == 57600
    assert reader.baudrate == 57600
    assert reader.read_card(timeout=5).wait(10).name == "张三"
    assert reader.reset_sam().wait(5) is True
    assert reader.sam_status().wait(5) is True
    assert emulator.counts["set_baud"] == 1 and emulator.counts["reset_sam"] == 1
    with pytest.raises(ValueError):
        reader.set_baud(4800)


def test_bad_check_digit_over_the_wire(
    emulator: SamReaderEmulator, pty_port: PtyPort, make_reader: ReaderFactory
) -> None:
    emulator.place(load_card(str(DATA / "resident_bad_check_digit.json")))
    reader = make_reader(pty_port.path, poll=False)
    with pytest.raises(BadCheckDigitError) as info:
        reader.read_card(timeout=5).wait(10)
    assert info.value.exit_code == ExitCode.BAD_CHECK_DIGIT


def test_wire_log_and_logs_carry_no_personal_data(
    emulator: SamReaderEmulator,
    pty_port: PtyPort,
    make_reader: ReaderFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.place(load_card("resident_long_term"))
    reader = make_reader(pty_port.path, poll=False)
    with caplog.at_level(logging.DEBUG):
        card = reader.read_card(fingerprint=True, appended_address=True, timeout=5).wait(10)
    wire = "\n".join(reader.wire.snapshot())
    assert "AA AA AA 96 69 07 0A 00 00 90 +1799 bytes" in wire  # 30 10 reply: header only
    secrets = [card.name, card.id_number, card.address or "", card.appended_address or ""]
    as_hex = [s.encode("utf-16-le").hex(" ").upper() for s in secrets]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in [*secrets, *as_hex, card.photo[:16].hex(" ").upper()]:
        assert text not in wire
        assert text not in logged
    assert len(wire) < 2000  # lengths, never payloads
