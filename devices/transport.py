"""Opening a device by URL: every serial-like transport goes through ``serial_for_url``.

``/dev/ttyUSB0`` or a pty path, ``socket://host:port``, ``rfc2217://…``, ``spy://URL`` (a
hex wiretap for technicians, pyserial's own) and ``sim://KIND?…`` (in-process emulators)
all give a pyserial-compatible object. Failures become :class:`DeviceNotFoundError` here,
at the boundary, with the URL and the reason.
"""

from __future__ import annotations

from typing import Any

import serial

from devices.errors import DeviceNotFoundError

if "devices.urlhandler" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("devices.urlhandler")


def open_serial(url: str, *, baudrate: int = 115200, timeout: float = 0.1, **kw: Any) -> Any:
    """Open ``url`` as a serial port; raise DeviceNotFoundError if it cannot be opened."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, **kw)
    except (serial.SerialException, OSError, ValueError) as err:
        raise DeviceNotFoundError(f"cannot open {url}: {err}") from err
    return port
