"""Shared helpers of the ID-card tests: event recorder, paths, reader construction."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.devices.events import EventRecorder

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO.parent / "shared" / "vectors"
DATA = Path(__file__).resolve().parent / "data"
CARDS = REPO / "devices" / "idcard" / "cards"


Recorder = EventRecorder  # the shared device-event recorder (tests/devices/events.py)


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``pred`` until true (bounded); for state that has no event."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
