"""One recorder of device events for the device tests (it is the ``on_event`` callback).

Events arrive on the device's worker thread; the waits are bounded and say what they saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from devices.base import DeviceEvent, DeviceState, StatusChanged

E = TypeVar("E", bound=DeviceEvent)


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def mark(self) -> int:
        """A position to wait from (events before it are ignored by ``since=mark``)."""
        with self.cond:
            return len(self.events)

    def clear(self) -> None:
        with self.cond:
            self.events.clear()

    def of_type(self, cls: type[E], since: int = 0) -> list[E]:
        with self.cond:
            return [e for e in self.events[since:] if isinstance(e, cls)]

    def wait_for(
        self, pred: Callable[[DeviceEvent], bool], since: int = 0, timeout: float = 10.0
    ) -> Any:
        """The first event from ``since`` on that satisfies ``pred``."""
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

    def wait_count(self, cls: type[E], n: int, timeout: float = 10.0) -> list[E]:
        """At least ``n`` events of type ``cls``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if isinstance(e, cls)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} {cls.__name__} events, expected {n}")
                self.cond.wait(left)

    def wait_state(self, state: DeviceState, since: int = 0, timeout: float = 10.0) -> Any:
        return self.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state is state, since, timeout
        )
