"""pyserial URL handler for ``sim://KIND?…``: a serial port wired to an in-process emulator.

pyserial imports ``<package>.protocol_<scheme>`` for each package in
``serial.protocol_handler_packages``; ``devices.transport`` adds ``devices.urlhandler``.
Read timeouts follow pyserial: None blocks, 0 polls, > 0 waits up to that long.
"""

from __future__ import annotations

import numbers
from typing import Any
from urllib.parse import parse_qs, urlsplit

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from devices.sim import SimEndpoint, SimUnpluggedError, resolve


class Serial(SerialBase):  # type: ignore[misc]  # pyserial ships no type hints
    BAUDRATES = (9600, 19200, 38400, 57600, 115200)

    is_open: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._endpoint: SimEndpoint | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        parts = urlsplit(self._port)
        if parts.scheme != "sim":
            raise SerialException(f"expected sim://KIND[?…], not {self._port!r}")
        try:
            self._endpoint = resolve(parts.netloc, parse_qs(parts.query))
        except (LookupError, ValueError) as err:
            raise SerialException(f"could not open {self._port}: {err}") from err
        except SimUnpluggedError as err:
            raise SerialException(f"could not open {self._port}: {err}") from err
        self.is_open = True
        self._reconfigure_port()

    def close(self) -> None:
        if self.is_open and self._endpoint is not None:
            self._endpoint.host_close()
        self.is_open = False
        self._endpoint = None

    def _reconfigure_port(self) -> None:
        baud = self._baudrate
        if not isinstance(baud, numbers.Integral) or not 0 < int(baud) < 2**32:
            raise ValueError(f"invalid baudrate: {baud!r}")
        if self._endpoint is not None:
            self._endpoint.host_set_baudrate(int(baud))

    def _ep(self) -> SimEndpoint:
        if not self.is_open or self._endpoint is None:
            raise PortNotOpenError()
        return self._endpoint

    @property
    def in_waiting(self) -> int:
        return len(self._ep().to_host)

    def read(self, size: int = 1) -> bytes:
        pipe = self._ep().to_host
        if pipe.closed and not len(pipe):
            raise SerialException("device disconnected")
        return pipe.read(size, self._timeout)

    def write(self, data: bytes) -> int:
        ep = self._ep()
        if ep.to_host.closed:
            raise SerialException("device disconnected")
        ep.host_write(bytes(data))
        return len(data)

    def reset_input_buffer(self) -> None:
        self._ep().to_host.clear()

    def reset_output_buffer(self) -> None:
        self._ep()

    def cancel_read(self) -> None:
        pass

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
