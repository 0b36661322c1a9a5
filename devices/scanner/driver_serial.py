"""Serial code scanner (USB-CDC virtual COM or RS-232), registry key ``scanner_serial``.

Wire format: PROTOCOLS.md §3 and :mod:`devices.scanner.protocol` — scans framed on a
configurable suffix (CR, CRLF, TAB, or none with an inter-byte timeout), UTF-8 / GB18030 /
binary payloads, optional AIM ids. Host-trigger mode arms the scanner only while a step
expects a code: Honeywell ``SYN T CR`` / ``SYN U CR`` or configured bytes (``trigger =
"custom"`` with ``arm_hex`` / ``disarm_hex``). Newland-style setup commands
(``setup_commands = ["…"]``, sent inside ``$$$$`` … ``%%%%`` at every open) put a scanner
into the wanted mode; a refused command (``?…;``) fails the open with a configuration error.

Options (device ``options``): ``baudrate`` (9600), ``suffix``, ``gap_ms``, ``encoding``,
``aim_ids``, ``duplicate_window_ms``, ``max_len``, ``classify_rules``, ``trigger``
(``none`` | ``honeywell`` | ``custom``), ``arm_hex``, ``disarm_hex``, ``setup_commands``.

URL: anything :func:`devices.transport.open_serial` takes (``/dev/ttyACM0``, a pty path,
``socket://host:port``, ``spy://…``, ``sim://scanner?…``).

Threading: see :mod:`devices.scanner.core`; the port is touched on the worker only.
Personal data: scanned payloads; the wire log keeps lengths of received frames only.
"""

from __future__ import annotations

import time
from typing import Any

from devices.base import Identity
from devices.errors import ProtocolError
from devices.scanner.core import ScannerConfigError, ScannerDevice
from devices.scanner.protocol import (
    NEWLAND_ENTER_ACK,
    NEWLAND_ENTER_SETUP,
    NEWLAND_EXIT_ACK,
    NEWLAND_EXIT_SETUP,
    TriggerCommands,
    TriggerProtocol,
    newland_command,
    parse_newland_reply,
    trigger_commands,
)
from devices.transport import open_serial


class SerialScanner(ScannerDevice):
    driver_name = "scanner_serial"
    source = "serial"

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        opts = self.options
        try:
            self.trigger: TriggerCommands | None = trigger_commands(
                TriggerProtocol(str(opts.get("trigger", "none")).lower()),
                arm_hex=str(opts.get("arm_hex", "")),
                disarm_hex=str(opts.get("disarm_hex", "")),
            )
            self.setup_commands = [newland_command(str(c)) for c in opts.get("setup_commands", [])]
            self.baudrate = int(opts.get("baudrate", 9600))
        except (TypeError, ValueError) as err:
            raise ScannerConfigError(f"bad scanner option: {err}") from err
        self._port: Any = None

    # -- transport ------------------------------------------------------------------------

    def _open(self) -> None:
        self._port = open_serial(
            self.url, baudrate=self.baudrate, timeout=min(self.read_slice_s, self.opts.gap_s)
        )
        self._port.reset_input_buffer()
        self.framer.reset()
        if self.setup_commands:
            self._run_setup()
        if self.trigger is not None:
            self._disarm()  # armed only while a step expects a code
        else:
            self.update_detail(armed="always")

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _identify(self) -> Identity:
        caps = {"suffix:" + self.opts.suffix.value}
        if self.trigger is not None:
            caps.add("host_trigger")
        return Identity(self.driver_name, model="serial scanner", capabilities=frozenset(caps))

    def _read_bytes(self, timeout: float) -> bytes:
        port = self._port
        if port is None:
            return b""
        if timeout <= 0:
            n = port.in_waiting
            return bytes(port.read(n)) if n else b""
        # The port's own timeout (set at open) bounds this read; read(1) wakes on the
        # first byte, then whatever else has arrived is taken at once.
        data = bytes(port.read(1))
        if data:
            n = port.in_waiting
            if n:
                data += bytes(port.read(n))
        return data

    def _write(self, data: bytes) -> None:
        self.record_wire("tx", data)
        self._port.write(data)
        self._port.flush()

    # -- commands -------------------------------------------------------------------------

    def _arm(self) -> None:
        if self.trigger is not None and self._port is not None:
            self.framer.reset()
            self._write(self.trigger.arm)
        super()._arm()

    def _disarm(self) -> None:
        if self.trigger is not None and self._port is not None:
            self._write(self.trigger.disarm)
        super()._disarm()

    def _expect(self, want: bytes, timeout: float = 1.0) -> bytes:
        deadline = time.monotonic() + timeout
        got = b""
        while want not in got and time.monotonic() < deadline:
            got += self._read_bytes(min(self.read_slice_s, deadline - time.monotonic()))
        if want not in got:
            raise ProtocolError(f"scanner did not answer {want!r} in setup mode")
        return got

    def _run_setup(self) -> None:
        self._write(NEWLAND_ENTER_SETUP)
        self._expect(NEWLAND_ENTER_ACK)
        try:
            for cmd in self.setup_commands:
                self._write(cmd)
                body = cmd[1:-1].decode("ascii")
                deadline = time.monotonic() + 1.0
                buf = b""
                reply = None
                while reply is None and time.monotonic() < deadline:
                    buf += self._read_bytes(self.read_slice_s)
                    reply, buf = parse_newland_reply(buf)
                if reply is None:
                    raise ProtocolError(f"no reply to setup command {body}")
                if not reply.ok:
                    raise ScannerConfigError(f"the scanner refused setup command {body}")
        finally:
            self._write(NEWLAND_EXIT_SETUP)
            self._expect(NEWLAND_EXIT_ACK)
