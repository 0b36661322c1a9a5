"""``sim://idcard`` in-process: URL options, registered instances, baud rates, bad replies."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from config.exit_codes import ExitCode
from devices.base import DeviceState, StatusChanged
from devices.errors import DeviceNotFoundError, DeviceTimeoutError, ProtocolError
from devices.idcard.emulator import Fault, SamReaderEmulator, SimPort, load_card
from devices.idcard.errors import (
    NoCardError,
    SamFailureError,
    TruncatedFrameError,
    VendorVariantError,
)
from devices.idcard.model import CardType
from devices.idcard.protocol import encode_reply
from devices.sim import BytePipe, register_instance, unregister_instance
from tests.devices.idcard.conftest import ReaderFactory
from tests.devices.idcard.helpers import CARDS, Recorder


def test_sim_url_with_a_card_file(make_reader: ReaderFactory) -> None:
    url = f"sim://idcard?card={CARDS / 'foreign_permanent_2023.json'}"
    card = make_reader(url, poll=False).read_card(timeout=5).wait(10)
    assert card.card_type == CardType.FOREIGN_PERMANENT_2023


def test_sim_url_with_a_builtin_card_and_a_fault(make_reader: ReaderFactory) -> None:
    reader = make_reader("sim://idcard?card=hk_mo_tw_residence&fault=no_card", poll=False)
    with pytest.raises(NoCardError):
        reader.read_card(timeout=5).wait(10)
    with pytest.raises(SamFailureError):
        make_reader("sim://idcard?card=resident&fault=sam_failure", poll=False).read_card(
            timeout=5
        ).wait(10)


def test_sim_url_at_another_baud_rate(make_reader: ReaderFactory) -> None:
    reader = make_reader("sim://idcard?card=resident&baud=38400", poll=False, baudrate=38400)
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_a_baud_mismatch_reads_as_garbage(make_reader: ReaderFactory) -> None:
    reader = make_reader("sim://idcard?card=resident&baud=9600", poll=False, reply_timeout=0.3)
    with pytest.raises((ProtocolError, DeviceTimeoutError)):
        reader.read_card(timeout=2).wait(10)


@pytest.mark.parametrize(
    "url",
    [
        "sim://idcard?card=/nonexistent/card.json",
        "sim://idcard?card=resident&fault=melting",
        "sim://idcard?instance=nobody",
        "sim://nosuchdevice",
    ],
)
def test_bad_sim_urls_are_device_not_found(url: str, make_reader: ReaderFactory) -> None:
    with pytest.raises(DeviceNotFoundError):
        make_reader(url, poll=False).read_card(timeout=2).wait(10)


@pytest.fixture
def sim_port() -> Iterator[SimPort]:
    emulator = SamReaderEmulator(load_card("resident"))
    port = SimPort(emulator)
    port.register("test-idcard")
    try:
        yield port
    finally:
        port.unregister()
        emulator.close()


def test_registered_instance_set_baud_and_unplug(
    sim_port: SimPort, make_reader: ReaderFactory, rec: Recorder
) -> None:
    reader = make_reader("sim://idcard?instance=test-idcard")
    reader.start()
    rec.wait_for(lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.ONLINE)
    assert reader.set_baud(19200).wait(10) == 19200
    assert sim_port.emulator.baudrate == 19200
    assert reader.read_card(timeout=5).wait(10).name == "张三"
    mark = rec.mark()
    sim_port.unplug()
    rec.wait_for(
        lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.NO_DEVICE,
        since=mark,
    )
    mark = rec.mark()
    sim_port.replug()
    rec.wait_for(
        lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.ONLINE,
        since=mark,
    )
    sim_port.emulator.lift()
    sim_port.emulator.place()
    assert reader.read_card(timeout=5).wait(10).name == "张三"


def test_emulator_without_a_set_baud_on_the_host_is_unreadable(
    sim_port: SimPort, make_reader: ReaderFactory
) -> None:
    sim_port.emulator.baudrate = 57600  # the reader was switched by someone else
    reader = make_reader("sim://idcard?instance=test-idcard", poll=False, reply_timeout=0.3)
    with pytest.raises((ProtocolError, DeviceTimeoutError)):
        reader.read_card(timeout=2).wait(10)


class CannedEndpoint:
    """A fake reader that answers every command with the same canned bytes."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self._pipe = BytePipe()

    @property
    def to_host(self) -> BytePipe:
        return self._pipe

    def host_write(self, data: bytes) -> None:
        self._pipe.write(self.reply)

    def host_set_baudrate(self, baudrate: int) -> None:
        pass

    def host_close(self) -> None:
        self._pipe.close()


@pytest.fixture
def canned() -> Iterator[list[bytes]]:
    replies: list[bytes] = [b""]
    register_instance("canned", lambda: CannedEndpoint(replies[0]))
    try:
        yield replies
    finally:
        unregister_instance("canned")


def test_a_truncated_reply_is_a_protocol_error_not_a_hang(
    canned: list[bytes], make_reader: ReaderFactory
) -> None:
    canned[0] = encode_reply(0x90)[:8]
    reader = make_reader("sim://idcard?instance=canned", poll=False, reply_timeout=0.2)
    with pytest.raises(TruncatedFrameError) as info:
        reader.read_card(timeout=2).wait(10)
    assert info.value.exit_code == ExitCode.PROTOCOL_ERROR


def test_the_vendor_variant_is_logged_and_rejected(
    canned: list[bytes], make_reader: ReaderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    canned[0] = bytes.fromhex("AA AA AA A5 5A 00 04 00 00 90 94")
    reader = make_reader("sim://idcard?instance=canned", poll=False)
    with (
        caplog.at_level(logging.WARNING, logger="devices.idcard.driver"),
        pytest.raises(VendorVariantError),
    ):
        reader.read_card(timeout=2).wait(10)
    assert any("vendor_variant" in r.getMessage() for r in caplog.records)


def test_stray_bytes_around_replies_are_ignored(
    canned: list[bytes], make_reader: ReaderFactory
) -> None:
    canned[0] = b"\x00\x13" + encode_reply(0x90, bytes(16)) + b"\x7f"
    reader = make_reader("sim://idcard?instance=canned", poll=False)
    assert reader.sam_status().wait(10) is True


def test_emulator_fault_switches_are_named() -> None:
    emulator = SamReaderEmulator(None)
    try:
        for fault in Fault:
            emulator.set_fault(fault)
        assert emulator.faults == frozenset(Fault)
        with pytest.raises(ValueError):
            emulator.set_fault("melting")
        with pytest.raises(ValueError):
            emulator.place()  # no card known yet
    finally:
        emulator.close()
