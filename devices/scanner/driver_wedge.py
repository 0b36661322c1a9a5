"""Keyboard-wedge (USB HID keyboard) code scanner, registry key ``scanner_wedge``.

Reads the scanner's Linux input device through evdev and **grabs** it (``EVIOCGRAB``), so
its keystrokes reach this driver only: a scan can never type into whatever Qt widget has
focus, and a citizen's keyboard can never inject a "scan". Key events become characters by
:class:`devices.scanner.keymap.KeyMapper` (US layout, Shift/Caps Lock/Ctrl), and those go
through the same framing as a serial scanner (Enter = CR suffix, Tab = TAB suffix, or none
with the inter-key timeout). A wedge carries ASCII only.

URL: ``/dev/input/event3``, ``/dev/input/by-id/usb-…-event-kbd``, ``evdev:///dev/input/…``,
``evdev://?name=SUBSTRING`` (the first input device whose name contains it), or
``sim://scanner?mode=wedge&…`` — the emulator, whose link carries raw ``struct
input_event`` records exactly as ``read()`` on an event node returns them.

Why evdev (python-evdev, BSD): the maintained binding of the kernel's input API (device
discovery, EVIOCGRAB, event decoding); nothing else in the stack reads input devices.

Options: as for ``scanner_serial`` (``suffix``, ``gap_ms``, ``duplicate_window_ms``,
``classify_rules``…) plus ``grab`` (default true). Threading: see
:mod:`devices.scanner.core`. Personal data: the typed characters; never logged.
"""

from __future__ import annotations

import select
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devices.base import Identity
from devices.errors import DeviceNotFoundError
from devices.scanner.core import ScannerDevice
from devices.scanner.keymap import KeyEvent, KeyMapper, parse_input_events
from devices.transport import open_serial


class _EvdevSource:
    """A real input device node (worker thread only)."""

    def __init__(self, path: str | None, name: str | None, grab: bool) -> None:
        import evdev

        if path is None:
            for candidate in evdev.list_devices():
                dev = evdev.InputDevice(candidate)
                if name is not None and name.lower() in dev.name.lower():
                    path = candidate
                    dev.close()
                    break
                dev.close()
            if path is None:
                raise DeviceNotFoundError(f"no input device whose name contains {name!r}")
        try:
            self.dev = evdev.InputDevice(path)
        except OSError as err:
            raise DeviceNotFoundError(f"cannot open input device {path}: {err}") from err
        if grab:
            self.dev.grab()
        info = self.dev.info
        self.identity = Identity(
            "scanner_wedge",
            model=self.dev.name,
            extra={
                "vendor": f"{info.vendor:04x}",
                "product": f"{info.product:04x}",
                "phys": self.dev.phys or "",
            },
            capabilities=frozenset({"keyboard_wedge", "grabbed" if grab else "shared"}),
        )

    def read(self, timeout: float) -> list[KeyEvent]:
        ready, _, _ = select.select([self.dev.fd], [], [], timeout)
        if not ready:
            return []
        try:
            return [KeyEvent(e.type, e.code, e.value) for e in self.dev.read()]
        except BlockingIOError:
            return []

    def close(self) -> None:
        self.dev.close()


class _LinkSource:
    """Raw input_event records over a byte link (the ``sim://`` emulator)."""

    def __init__(self, url: str) -> None:
        self.port = open_serial(url, timeout=0.05)
        self._rest = b""
        self.identity = Identity(
            "scanner_wedge", model="emulated wedge", capabilities=frozenset({"keyboard_wedge"})
        )

    def read(self, timeout: float) -> list[KeyEvent]:
        data = bytes(self.port.read(1)) if timeout > 0 else b""
        n = self.port.in_waiting
        if n:
            data += bytes(self.port.read(n))
        events, self._rest = parse_input_events(self._rest + data)
        return events

    def close(self) -> None:
        self.port.close()


class WedgeScanner(ScannerDevice):
    driver_name = "scanner_wedge"
    source = "wedge"

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        self.grab = bool(self.options.get("grab", True))
        self.keys = KeyMapper()
        self._src: _EvdevSource | _LinkSource | None = None

    def _open(self) -> None:
        url = self.url
        if url.startswith("sim://"):
            self._src = _LinkSource(url)
        elif url.startswith("evdev://"):
            parts = urlsplit(url)
            names = parse_qs(parts.query).get("name")
            self._src = _EvdevSource(parts.path or None, names[0] if names else None, self.grab)
        else:
            self._src = _EvdevSource(url, None, self.grab)
        self.keys.reset()
        self.framer.reset()
        self.update_detail(armed="always")

    def _close(self) -> None:
        src, self._src = self._src, None
        if src is not None:
            src.close()

    def _identify(self) -> Identity:
        if self._src is None:
            return Identity(self.driver_name)
        return self._src.identity

    def _read_bytes(self, timeout: float) -> bytes:
        if self._src is None:
            return b""
        text = self.keys.feed_all(self._src.read(timeout))
        # Only ASCII can be typed, so this never fails; it feeds the shared framer.
        return text.encode("ascii")
