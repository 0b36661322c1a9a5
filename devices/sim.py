"""In-process emulator links for ``sim://`` device URLs.

``sim://KIND?opt=value`` opens the emulator of device class KIND inside this process,
through pyserial's URL-handler mechanism (``devices.urlhandler.protocol_sim``), so a driver
calls ``serial.serial_for_url`` exactly as it would for ``/dev/ttyUSB0``.

Resolution: ``sim://KIND?instance=NAME`` attaches to an emulator a test (or the demo)
registered with :func:`register_instance`; otherwise the module ``devices.KIND.emulator`` is
imported and its ``sim_endpoint(params)`` builds a fresh emulator from the query options.

An emulator exposes a :class:`SimEndpoint`: the host writes bytes to it and reads what it
sends back from a :class:`BytePipe`. Emulators pace their own output (baud rate) on their
own thread, so the host sees bytes arrive over time as on a real line.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol


class BytePipe:
    """Thread-safe byte FIFO with blocking, timed reads (one direction of a link)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._closed = False

    def write(self, data: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            self._buf += data
            self._cond.notify_all()

    def read(self, size: int, timeout: float | None) -> bytes:
        """Up to ``size`` bytes: waits until ``size`` are there, the timeout, or close.

        ``timeout`` None blocks; 0 returns what is there now (pyserial semantics).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while len(self._buf) < size and not self._closed:
                if deadline is None:
                    self._cond.wait()
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            out = bytes(self._buf[:size])
            del self._buf[:size]
            return out

    def __len__(self) -> int:
        with self._cond:
            return len(self._buf)

    def clear(self) -> None:
        with self._cond:
            self._buf.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class SimEndpoint(Protocol):
    """What the ``sim://`` serial port talks to."""

    def host_write(self, data: bytes) -> None:
        """Bytes from the host (the driver) to the emulated device."""

    @property
    def to_host(self) -> BytePipe:
        """Bytes from the emulated device to the host."""

    def host_set_baudrate(self, baudrate: int) -> None:
        """The host changed its line speed (emulators may model a mismatch)."""

    def host_close(self) -> None:
        """The host closed the port."""


class SimUnpluggedError(OSError):
    """The emulated device is unplugged: opening or using the port fails like real hardware."""


EndpointFactory = Callable[[Mapping[str, list[str]]], SimEndpoint]

_instances: dict[str, Callable[[], SimEndpoint]] = {}
_lock = threading.Lock()


def register_instance(name: str, connect: Callable[[], SimEndpoint]) -> None:
    """Make ``sim://KIND?instance=NAME`` call ``connect()`` on open (tests, the demo)."""
    with _lock:
        _instances[name] = connect


def unregister_instance(name: str) -> None:
    with _lock:
        _instances.pop(name, None)


def resolve(kind: str, params: Mapping[str, list[str]]) -> SimEndpoint:
    """Find or build the emulator for ``sim://KIND?…``; raise ``LookupError`` if none."""
    names = params.get("instance")
    if names:
        with _lock:
            connect = _instances.get(names[0])
        if connect is None:
            raise LookupError(f"no emulator instance {names[0]!r} is registered")
        return connect()
    if not kind.isidentifier():
        raise LookupError(f"bad emulator kind {kind!r}")
    try:
        module = importlib.import_module(f"devices.{kind}.emulator")
    except ModuleNotFoundError as err:
        raise LookupError(f"no emulator for device kind {kind!r}") from err
    factory: EndpointFactory | None = getattr(module, "sim_endpoint", None)
    if factory is None:
        raise LookupError(f"devices.{kind}.emulator has no sim_endpoint()")
    return factory(params)
