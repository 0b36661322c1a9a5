"""Shared helpers of the ID-card tests: event recorder, paths, reader construction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from devices.base import DeviceEvent

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO.parent / "shared" / "vectors"
DATA = Path(__file__).resolve().parent / "data"
CARDS = REPO / "devices" / "idcard" / "cards"


class Recorder:
    """Collects device events; ``wait_for`` blocks until one matches (bounded)."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def wait_for(
        self, pred: Callable[[DeviceEvent], bool], since: int = 0, timeout: float = 10.0
    ) -> DeviceEvent:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events[since:]:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [type(e).__name__ for e in self.events[since:]]
                    raise AssertionError(f"no matching event; got {names}")
                self.cond.wait(left)

    def of_type(self, cls: type[DeviceEvent], since: int = 0) -> list[DeviceEvent]:
        with self.cond:
            return [e for e in self.events[since:] if isinstance(e, cls)]


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``pred`` until true (bounded); for state that has no event."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
