"""Shared helpers: an event recorder and registered emulator instances."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.scanner.core import CodeScanned
from devices.scanner.emulator import ScannerEmulator
from devices.sim import register_instance, unregister_instance
from tests.devices.events import EventRecorder

_names = itertools.count(1)


class Recorder(EventRecorder):
    """The shared recorder, with the scans it saw."""

    def scans(self) -> list[CodeScanned]:
        return self.of_type(CodeScanned)

    def wait_scans(self, n: int, timeout: float = 5.0) -> list[CodeScanned]:
        return self.wait_count(CodeScanned, n, timeout)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def sim_scanner() -> Iterator[Callable[..., tuple[ScannerEmulator, str]]]:
    """Make an emulator and return it with the ``sim://`` URL that attaches to it."""
    made: list[tuple[str, ScannerEmulator]] = []

    def make(**kw: Any) -> tuple[ScannerEmulator, str]:
        emu = ScannerEmulator(**kw)
        name = f"scanner-test-{next(_names)}"
        register_instance(name, lambda: emu)
        made.append((name, emu))
        return emu, f"sim://scanner?instance={name}"

    try:
        yield make
    finally:
        for name, emu in made:
            unregister_instance(name)
            emu.close()
