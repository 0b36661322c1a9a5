"""The serial scanner driver against the emulator, over sim:// and over a real pty."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from devices.base import Backoff, DeviceState, StatusChanged
from devices.errors import DeviceTimeoutError
from devices.registry import build_device
from devices.scanner.classify import CodeKind
from devices.scanner.driver_serial import SerialScanner
from devices.scanner.emulator import PtyScanner, ScannerEmulator
from devices.scanner.protocol import Suffix
from devices.sim import register_instance, unregister_instance
from tests.devices.scanner.conftest import Recorder

SimFactory = Callable[..., tuple[ScannerEmulator, str]]


def online(dev: SerialScanner, rec: Recorder) -> None:
    dev.start()
    rec.wait_for(lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.ONLINE)


@pytest.mark.parametrize("suffix", list(Suffix))
def test_gb18030_utf8_and_binary_payloads_over_a_pty(suffix: Suffix, rec: Recorder) -> None:
    payloads: list[bytes] = [
        "济南市历下区 泉城路".encode("gb18030"),
        "全办 UTF-8 码".encode(),
        bytes([0x01, 0x02, 0xFE, 0x80, 0x00]),
    ]
    with PtyScanner(ScannerEmulator(suffix=suffix)) as pty:
        dev = SerialScanner(
            "scanner", pty.path, rec, options={"suffix": suffix.value, "gap_ms": 40}
        )
        try:
            online(dev, rec)
            for p in payloads:
                pty.emulator.present(p)
                time.sleep(0.1)  # apart, so suffix-less frames are separated by the gap
            scans = rec.wait_scans(3)
        finally:
            dev.stop()
    codes = [s.code for s in scans]
    assert [c.raw for c in codes] == payloads
    assert codes[0].text == "济南市历下区 泉城路" and codes[0].payload.encoding == "gb18030"
    assert codes[1].text == "全办 UTF-8 码" and codes[1].payload.encoding == "utf-8"
    assert codes[2].text is None and codes[2].kind is CodeKind.BINARY
    assert all(c.source == "serial" for c in codes)


def test_host_trigger_arms_only_while_a_code_is_expected(
    sim_scanner: SimFactory, rec: Recorder
) -> None:
    emu, url = sim_scanner(trigger="honeywell")
    dev = SerialScanner("scanner", url, rec, options={"trigger": "honeywell"})
    try:
        online(dev, rec)
        emu.present("LTM1.abcdefghijklmnopqrstuvwxyz012345")
        time.sleep(0.2)
        assert rec.scans() == [] and emu.reads == 0  # not armed: nothing is read
        assert dev.status.detail["armed"] == "no"
        code = dev.read_code(timeout=3).wait(5)
        assert code.kind is CodeKind.LUTONG
        assert dev.status.detail["armed"] == "no"
        # Disarmed at open; armed for the read; disarmed after it.
        assert bytes(emu.received) == bytes.fromhex("16550D 16540D 16550D")
        with pytest.raises(DeviceTimeoutError) as info:
            dev.read_code(timeout=0.3).wait(3)
        assert "no code was scanned" in info.value.reason
        assert bytes(emu.received).endswith(bytes.fromhex("16540D 16550D"))
    finally:
        dev.stop()


def test_aim_ids_give_the_symbology(sim_scanner: SimFactory, rec: Recorder) -> None:
    emu, url = sim_scanner(aim="Q1")
    dev = SerialScanner("scanner", url, rec, options={"aim_ids": True})
    try:
        online(dev, rec)
        emu.present("JN2026112800001")
        code = rec.wait_scans(1)[0].code
    finally:
        dev.stop()
    assert (code.symbology, code.kind, code.ref) == ("qrcode", CodeKind.RECEIPT, "JN2026112800001")


@pytest.mark.parametrize(("window_ms", "expected"), [(1500, 1), (0, 3)])
def test_duplicate_scans_are_suppressed_within_the_window(
    sim_scanner: SimFactory, rec: Recorder, window_ms: int, expected: int
) -> None:
    emu, url = sim_scanner()
    dev = SerialScanner("scanner", url, rec, options={"duplicate_window_ms": window_ms})
    try:
        online(dev, rec)
        for _ in range(3):
            emu.present("same-code")
        emu.present("then-another")
        scans = rec.wait_scans(expected + 1)
        time.sleep(0.2)
        scans = rec.scans()
    finally:
        dev.stop()
    assert [s.code.text for s in scans] == ["same-code"] * expected + ["then-another"]


def test_newland_setup_commands_run_at_open(sim_scanner: SimFactory, rec: Recorder) -> None:
    emu, url = sim_scanner()
    dev = SerialScanner("scanner", url, rec, options={"setup_commands": ["0302000", "0315010"]})
    try:
        online(dev, rec)
    finally:
        dev.stop()
    assert emu.setup_log == ["0302000", "0315010"]
    assert bytes(emu.received) == b"$$$$#0302000;#0315010;%%%%"
    assert not emu.setup_mode


def test_a_refused_setup_command_is_a_configuration_error(
    sim_scanner: SimFactory, rec: Recorder
) -> None:
    emu, url = sim_scanner(refuse=["9999999"])
    dev = SerialScanner("scanner", url, rec, options={"setup_commands": ["9999999"]})
    try:
        dev.start()
        event = rec.wait_for(lambda e: isinstance(e, StatusChanged) and e.status.error is not None)
    finally:
        dev.stop()
    assert event.status.error.code == "scanner_config"
    assert "refused setup command 9999999" in event.status.error.reason
    assert not emu.setup_mode  # the driver left setup mode all the same


def test_unplug_is_reported_and_the_driver_reconnects(rec: Recorder) -> None:
    emus = [ScannerEmulator()]
    register_instance("scanner-replug", lambda: emus[-1])
    dev = SerialScanner(
        "scanner",
        "sim://scanner?instance=scanner-replug",
        rec,
        backoff=Backoff(base=0.05, cap=0.1),
    )
    try:
        online(dev, rec)
        emus[0].unplug()
        rec.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.NO_DEVICE
        )
        emus.append(ScannerEmulator())  # plugged back in
        rec.wait_for(
            lambda e: (
                isinstance(e, StatusChanged)
                and e.status.state == DeviceState.ONLINE
                and any(
                    isinstance(x, StatusChanged) and x.status.state == DeviceState.NO_DEVICE
                    for x in rec.events[: rec.events.index(e)]
                )
            )
        )
        emus[-1].present("after-replug")
        assert rec.wait_scans(1)[0].code.text == "after-replug"
    finally:
        dev.stop()
        unregister_instance("scanner-replug")
        for emu in emus:
            emu.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"suffix": "semicolon"}, "bad scanner option"),
        ({"gap_ms": 0}, "gap_ms"),
        ({"trigger": "custom", "arm_hex": "16"}, "both"),
        ({"setup_commands": ["bad;cmd"]}, "Newland"),
        ({"classify_rules": [{"kind": "x", "prefix": "y"}]}, "unknown code kind"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        SerialScanner("scanner", "sim://scanner", options=options)
    assert getattr(info.value, "code", "") == "scanner_config"


def test_registry_builds_both_scanner_drivers() -> None:
    serial = build_device("s", "scanner_serial", "sim://scanner")
    wedge = build_device("w", "scanner_wedge", "sim://scanner?mode=wedge")
    assert type(serial).__name__ == "SerialScanner" and type(wedge).__name__ == "WedgeScanner"


def test_scanned_codes_never_reach_logs_or_the_wire_log(
    sim_scanner: SimFactory, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    from config.logs import JsonFormatter

    token = "LTM1.never-log-this-token-0123456789"
    emu, url = sim_scanner()
    caplog.set_level(logging.DEBUG)
    dev = SerialScanner("scanner", url, rec, options={"duplicate_window_ms": 5000})
    try:
        online(dev, rec)
        emu.present(token)
        emu.present(token)  # suppressed duplicate: logged at DEBUG
        rec.wait_scans(1)
        time.sleep(0.2)
        frames = dev.wire.snapshot()
    finally:
        dev.stop()
    assert frames and all(token not in f for f in frames)
    assert any("duplicate" in r.getMessage() for r in caplog.records)
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert token not in text and "never-log" not in text
