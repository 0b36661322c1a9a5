"""Shared helpers: an event recorder and registered emulator instances."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.base import DeviceEvent
from devices.scanner.core import CodeScanned
from devices.scanner.emulator import ScannerEmulator
from devices.sim import register_instance, unregister_instance

_names = itertools.count(1)


class Recorder:
    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def scans(self) -> list[CodeScanned]:
        with self.cond:
            return [e for e in self.events if isinstance(e, CodeScanned)]

    def wait_for(self, pred: Callable[[DeviceEvent], bool], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event in {self.events}")
                self.cond.wait(left)

    def wait_scans(self, n: int, timeout: float = 5.0) -> list[CodeScanned]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if isinstance(e, CodeScanned)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} scans, expected {n}")
                self.cond.wait(left)


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
