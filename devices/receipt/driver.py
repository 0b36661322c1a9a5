"""ESC/POS receipt printer driver (registry key ``receipt_escpos``).

Wire format: PROTOCOLS.md §4 and :mod:`devices.receipt.protocol`. URLs:

* ``/dev/ttyUSB0``, a pty path, ``socket://host:9100`` (raw TCP, JetDirect), ``spy://…``,
  ``sim://receipt?…`` — opened with pyserial's ``serial_for_url`` (devices.transport);
* ``usb:///dev/usb/lp0`` (or a bare ``/dev/usb/lpN``) — the Linux ``usblp`` class driver's
  character device, read and written directly. This covers USB printers of the printer
  class without pyusb or detaching a kernel driver; vendor-class USB printers need a
  udev rule binding them to usblp (documented, not done here).

Status (the live-status contract):

* before each job, ``DLE EOT 1…4``; a fault (paper out, cover open, offline, cutter
  error) refuses the job without sending it;
* after the job, ``GS r 1`` — not a real-time command, so its answer means the printer
  has worked through the job — then ``DLE EOT 1…4``; a job counts as printed only when
  that last answer shows no fault. No answer to GS r within the command's time means the
  printer stopped mid-job; DLE EOT then says why;
* between jobs the worker polls DLE EOT every ``poll_interval`` seconds (option, 5 s).

``DeviceStatus``: paper out / cover open / paper near end → USER_ERROR (staff act; flows
that must print are disabled by the kiosk while the printer is not ONLINE), cutter or
other errors → HARDWARE_ERROR, offline → OFFLINE; ``detail`` is
``{"paper": "ok|near_end|out", "cover": "open|closed", "cutter": "ok|error",
"printer": "online|offline"}``. A printer that does not answer status at all is OFFLINE.

Threading: everything below runs on the device worker (see devices.base); print commands
are submitted ``quiet`` because this driver sets BUSY and the final state itself — the
state after a job comes from the printer, not from whether the command raised.

Personal data: receipts carry names, case numbers and ID fragments. The wire log keeps
only the hex of frames of at most 4 bytes (status requests and answers) and the length
of anything longer; job bytes are never logged.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from config.logs import Safe
from devices.base import CancelToken, CommandHandle, Device, DeviceState, EventSink, Identity
from devices.errors import DeviceNotFoundError, DeviceTimeoutError
from devices.receipt import protocol
from devices.receipt.errors import PrinterOfflineError, error_for_fault
from devices.receipt.protocol import PrinterStatus
from devices.transport import open_serial

if TYPE_CHECKING:
    from printing.document import Document

log = logging.getLogger(__name__)

_CHUNK = 4096


class UsbLpPort:
    """The usblp character device with the little of pyserial's API the driver uses."""

    def __init__(self, path: str) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_NOCTTY)
        except OSError as err:
            raise DeviceNotFoundError(f"cannot open {path}: {err.strerror}") from err
        self.timeout = 0.1

    def _fileno(self) -> int:
        if self._fd is None:
            raise OSError("port closed")
        return self._fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            n = os.write(self._fileno(), view)
            view = view[n:]
        return len(data)

    def read(self, size: int = 1) -> bytes:
        fd = self._fileno()
        ready, _, _ = select.select([fd], [], [], self.timeout)
        return os.read(fd, size) if ready else b""

    def reset_input_buffer(self) -> None:
        fd = self._fileno()
        while select.select([fd], [], [], 0)[0]:
            if not os.read(fd, 4096):
                return

    def flush(self) -> None:
        """Writes are unbuffered."""

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def open_port(url: str, *, baudrate: int) -> Any:
    parts = urlsplit(url)
    if parts.scheme == "usb":
        return UsbLpPort(parts.path)
    if url.startswith("/dev/usb/lp"):
        return UsbLpPort(url)
    port = open_serial(url, baudrate=baudrate, timeout=0.1)
    sock = getattr(port, "_socket", None)  # pyserial's socket:// keeps its socket here
    if isinstance(sock, socket.socket):
        # Small status requests right after a job would otherwise wait for the delayed ACK
        # of the job's last segment (Nagle): ~40 ms per job on JetDirect printers.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return port


def _state_for(status: PrinterStatus) -> DeviceState:
    fault = status.fault
    if fault in ("paper_out", "cover_open"):
        return DeviceState.USER_ERROR
    if fault in ("cutter_error", "error"):
        return DeviceState.HARDWARE_ERROR
    if fault == "offline":
        return DeviceState.OFFLINE
    return DeviceState.USER_ERROR if status.paper_near_end else DeviceState.ONLINE


class EscPosPrinter(Device):
    """See the module docstring. Options: ``paper_width_mm`` (58|80), ``baudrate``,
    ``poll_interval`` (s), ``status_timeout`` (s), ``sync_status`` (send GS r after jobs)."""

    driver_name = "receipt_escpos"
    poll_interval: float | None = 5.0
    default_timeout = 30.0

    def __init__(
        self,
        name: str,
        url: str,
        on_event: EventSink | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, url, on_event, options=options, **kw)
        opts = self.options
        self.poll_interval = float(opts.get("poll_interval", 5.0)) or None
        self.status_timeout = float(opts.get("status_timeout", 1.0))
        self.paper_width_mm = int(opts.get("paper_width_mm", 80))
        if self.paper_width_mm not in (58, 80):
            raise ValueError("paper_width_mm must be 58 or 80")
        self.baudrate = int(opts.get("baudrate", 19200))
        self.sync_status = bool(opts.get("sync_status", True))
        self.last_printer_status: PrinterStatus | None = None
        self._port: Any = None
        self._last_fault: str | None = None

    # -- public commands (any thread) -----------------------------------------------------

    def print_bytes(self, data: bytes, *, timeout: float | None = None) -> CommandHandle:
        """Print a ready ESC/POS job; the result is ``{"printed": True, "bytes", "status"}``."""
        return self.submit("print", lambda tok: self._print(data, tok), timeout=timeout, quiet=True)

    def print_document(self, doc: Document, *, timeout: float | None = None) -> CommandHandle:
        from printing.escpos import render_escpos

        return self.print_bytes(render_escpos(doc, width_mm=self.paper_width_mm), timeout=timeout)

    def check_status(self, *, timeout: float | None = None) -> CommandHandle:
        """Query DLE EOT 1…4 now; the result is ``PrinterStatus.as_dict()``."""
        return self.submit("status", self._status_command, timeout=timeout, quiet=True)

    # -- Device hooks ---------------------------------------------------------------------

    def redact_frame(self, data: bytes) -> str:
        return data.hex(" ") if len(data) <= 4 else f"<{len(data)} bytes>"

    def _open(self) -> None:
        self._port = open_port(self.url, baudrate=self.baudrate)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _identify(self) -> Identity:
        model = "ESC/POS printer"
        self._port.reset_input_buffer()
        self._send(protocol.GS + b"I\x43")  # GS I 67: model name, "_NAME\0" if supported
        reply = self._read(64, time.monotonic() + min(0.3, self.status_timeout), b"\x00")
        if reply.startswith(b"_") and reply.endswith(b"\x00"):
            model = reply[1:-1].decode("ascii", errors="replace")
        return Identity(
            self.driver_name,
            model=model,
            extra={"paper_width_mm": str(self.paper_width_mm)},
            capabilities=frozenset({"gb18030", "qr", "barcode", "cut", "raster", "status"}),
        )

    def _poll(self, token: CancelToken) -> None:
        self._status_command(token)

    def _self_test(self, token: CancelToken) -> Any:
        ident = self._identify()
        status = self._query_status(token)
        self._apply_status(status)
        return {"identity": ident.as_dict(), "status": status.as_dict()}

    # -- worker side ----------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self.record_wire("tx", data)
        self._port.write(data)

    def _read(self, size: int, deadline: float, terminator: bytes | None = None) -> bytes:
        """Read up to ``size`` bytes until ``deadline`` (monotonic) or the terminator."""
        buf = b""
        while len(buf) < size and time.monotonic() < deadline:
            chunk = self._port.read(size - len(buf) if terminator is None else 1)
            if chunk:
                buf += chunk
                if terminator is not None and buf.endswith(terminator):
                    break
        if buf:
            self.record_wire("rx", buf)
        return buf

    def _query_status(self, token: CancelToken) -> PrinterStatus:
        token.check()
        self._port.reset_input_buffer()
        self._send(protocol.STATUS_REQUEST)
        wait = token.remaining(self.status_timeout)
        reply = self._read(4, time.monotonic() + wait)
        if len(reply) < 4:
            token.check()
            raise PrinterOfflineError("the printer did not answer the status request (DLE EOT)")
        return protocol.parse_status_reply(reply)

    def _apply_status(self, status: PrinterStatus) -> None:
        self.last_printer_status = status
        fault = status.fault
        err = error_for_fault(fault, f"printer reports {fault}") if fault else None
        if fault != self._last_fault:  # log once on a new fault and once on recovery
            if fault:
                log.warning("printer %s: %s", Safe(self.name), Safe(fault))
            else:
                log.warning("printer %s: fault cleared", Safe(self.name))
            self._last_fault = fault
        self.set_status(_state_for(status), detail=status.detail(), error=err)

    def _refresh_status(self, token: CancelToken) -> PrinterStatus:
        """Query DLE EOT and publish it; a printer that does not answer is OFFLINE."""
        try:
            status = self._query_status(token)
        except PrinterOfflineError as err:
            if self._last_fault != "not_answering":
                log.warning("printer %s: not answering status requests", Safe(self.name))
                self._last_fault = "not_answering"
            self.set_status(DeviceState.OFFLINE, detail={"printer": "not_answering"}, error=err)
            raise
        self._apply_status(status)
        return status

    def _status_command(self, token: CancelToken) -> dict[str, object]:
        return self._refresh_status(token).as_dict()

    def _print(self, data: bytes, token: CancelToken) -> dict[str, object]:
        before = self._refresh_status(token)
        if before.fault:
            raise error_for_fault(before.fault, f"printer reports {before.fault}; job not sent")
        self.set_status(DeviceState.BUSY, detail=before.detail())
        try:
            for start in range(0, len(data), _CHUNK):
                token.check()
                chunk = data[start : start + _CHUNK]
                self.record_wire("tx", chunk)
                self._port.write(chunk)
            after = self._after_job(token)
        finally:
            if self.status.state == DeviceState.BUSY:
                self._apply_status(self.last_printer_status or before)
        self._apply_status(after)
        if after.fault:
            raise error_for_fault(
                after.fault, f"printer reports {after.fault} after the job; it may not have printed"
            )
        return {"printed": True, "bytes": len(data), "status": after.as_dict()}

    def _after_job(self, token: CancelToken) -> PrinterStatus:
        if self.sync_status:
            self._port.reset_input_buffer()
            self._send(protocol.PAPER_SENSOR_REQUEST)
            reply = self._read(1, time.monotonic() + token.remaining())
            if not reply:  # the printer stopped before reaching GS r: ask why
                status = self._query_status(CancelToken(self.status_timeout))
                if status.fault:
                    return status
                raise DeviceTimeoutError("the printer did not finish the job in time")
            protocol.parse_paper_sensor(reply[0])
        return self._query_status(CancelToken(self.status_timeout))
