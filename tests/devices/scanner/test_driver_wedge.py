"""The keyboard-wedge driver: emulated input_event stream in, framed codes out.

This container has no /dev/uinput (no uinput module in its kernel), so evdev.UInput cannot
create a virtual keyboard here; the wedge is driven through ``sim://scanner?mode=wedge``,
whose link carries the same ``struct input_event`` records a real event node returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from devices.base import DeviceState, StatusChanged
from devices.scanner.classify import CodeKind
from devices.scanner.driver_wedge import WedgeScanner
from devices.scanner.emulator import ScannerEmulator
from devices.scanner.protocol import Suffix
from tests.devices.scanner.conftest import Recorder

SimFactory = Callable[..., tuple[ScannerEmulator, str]]


@pytest.mark.parametrize("suffix", [Suffix.CR, Suffix.TAB, Suffix.NONE])
def test_wedge_scans_are_mapped_and_framed(
    sim_scanner: SimFactory, rec: Recorder, suffix: Suffix
) -> None:
    emu, url = sim_scanner(mode="wedge", suffix=suffix)
    dev = WedgeScanner("wedge", url + "&mode=wedge", rec, options={"suffix": suffix.value})
    texts = ["JN2026112800001", "Mixed-Case_Text!@#", "https://example.org/a?b=1&c=2"]
    try:
        dev.start()
        rec.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.ONLINE
        )
        for t in texts:
            emu.present(t)
            time.sleep(0.15)
        scans = rec.wait_scans(3)
    finally:
        dev.stop()
    assert [s.code.text for s in scans] == texts
    assert [s.code.kind for s in scans] == [CodeKind.RECEIPT, CodeKind.TEXT, CodeKind.URL]
    assert {s.code.source for s in scans} == {"wedge"}


def test_missing_input_device_is_no_device(rec: Recorder) -> None:
    dev = WedgeScanner("wedge", "/dev/input/event-does-not-exist", rec)
    try:
        dev.start()
        event = rec.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.NO_DEVICE
        )
    finally:
        dev.stop()
    assert "cannot open input device" in event.status.error.reason


def test_device_named_by_name_that_is_absent(rec: Recorder) -> None:
    dev = WedgeScanner("wedge", "evdev://?name=NoSuchScanner", rec)
    try:
        dev.start()
        event = rec.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.NO_DEVICE
        )
    finally:
        dev.stop()
    assert "NoSuchScanner" in event.status.error.reason
