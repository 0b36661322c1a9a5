"""Code-scanner emulator: "scans" given payloads over ``sim://scanner`` or a real pty.

Behaviour (PROTOCOLS.md §3):

* ``present(payload)`` holds a code in front of the scanner. In presentation mode
  (``trigger="none"``) it is sent at once; in host-trigger mode it waits until the host
  arms the scanner (``SYN T CR``), is sent, and the scanner disarms itself after the read,
  as a Honeywell does; ``SYN U CR`` disarms without a read.
* Newland setup: ``$$$$`` → ``@@@@``; ``#BODY;`` → ``!BODY;`` (``?BODY;`` for bodies in
  ``refuse``); ``%%%%`` → ``^^^^``. Accepted bodies are recorded in ``setup_log``.
* Output is ``[AIM id] payload suffix`` (serial mode) or the ``struct input_event`` records
  a US-layout keyboard wedge would produce (``mode="wedge"``, ASCII only), paced at the
  baud rate (10 bits a byte) or, for a wedge, at ``key_interval_s`` a key stroke, on the
  emulator's own thread.
* Fault switches: ``unplug()`` closes the link (the host sees the device disappear).

``sim://scanner?payload=TEXT&payload_hex=HEX&suffix=cr&trigger=honeywell&mode=wedge&aim=Q1``
builds one from the URL (each ``payload`` / ``payload_hex`` is presented ``delay_ms``, 200 by
default, after the open; ``baud=0`` turns pacing off).
:class:`PtyScanner` puts an emulator behind a real pty for drivers that open a path.

Threading: ``host_write`` runs on the host's thread; output is paced by one daemon thread
per emulator; a pty adds two pump threads. Everything stops on ``close()``.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Iterable, Mapping

from devices.scanner.keymap import KeyEvent, encode_input_event, text_to_key_events
from devices.scanner.protocol import (
    HONEYWELL_TRIGGER_OFF,
    HONEYWELL_TRIGGER_ON,
    NEWLAND_ENTER_ACK,
    NEWLAND_ENTER_SETUP,
    NEWLAND_EXIT_ACK,
    NEWLAND_EXIT_SETUP,
    Suffix,
)
from devices.sim import BytePipe


class ScannerEmulator:
    """A SimEndpoint for ``sim://scanner``; see the module docstring."""

    def __init__(
        self,
        *,
        suffix: Suffix = Suffix.CR,
        trigger: str = "none",
        mode: str = "serial",
        aim: str = "",
        baudrate: int | None = 115200,
        key_interval_s: float = 0.002,
        refuse: Iterable[str] = (),
    ) -> None:
        if mode not in {"serial", "wedge"}:
            raise ValueError(f"mode must be serial or wedge, not {mode!r}")
        if trigger not in {"none", "honeywell"}:
            raise ValueError(f"trigger must be none or honeywell, not {trigger!r}")
        self.suffix = suffix
        self.trigger = trigger
        self.mode = mode
        self.aim = aim.encode("ascii")
        self.baudrate = baudrate
        self.key_interval_s = key_interval_s
        self.refuse = set(refuse)
        self.armed = trigger == "none"
        self.setup_mode = False
        self.setup_log: list[str] = []
        self.received = bytearray()  # everything the host wrote (for tests)
        self.reads = 0
        self._to_host = BytePipe()
        self._held: deque[bytes | str] = deque()
        self._inbox = bytearray()
        self._out: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._pace, name="sim-scanner", daemon=True)
        self._thread.start()

    # -- SimEndpoint ----------------------------------------------------------------------

    @property
    def to_host(self) -> BytePipe:
        return self._to_host

    def host_set_baudrate(self, baudrate: int) -> None:
        pass  # a scanner's rate is fixed by its own configuration; the pty ignores it anyway

    def host_close(self) -> None:
        pass

    def host_write(self, data: bytes) -> None:
        with self._cond:
            self.received += data
            self._inbox += data
            self._parse_inbox()

    # -- test / demo controls -------------------------------------------------------------

    def present(self, payload: bytes | str) -> None:
        """Hold a code in front of the scanner (text is sent as UTF-8 unless bytes)."""
        with self._cond:
            self._held.append(payload)
            self._maybe_read()

    def unplug(self) -> None:
        self._to_host.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._to_host.close()
        self._thread.join(2)

    # -- internals (called with the lock held) --------------------------------------------

    def _parse_inbox(self) -> None:
        buf = self._inbox
        while buf:
            if buf.startswith(HONEYWELL_TRIGGER_ON):
                del buf[:3]
                self.armed = True
                self._maybe_read()
            elif buf.startswith(HONEYWELL_TRIGGER_OFF):
                del buf[:3]
                self.armed = self.trigger == "none"
            elif buf.startswith(NEWLAND_ENTER_SETUP):
                del buf[:4]
                self.setup_mode = True
                self._queue(NEWLAND_ENTER_ACK)
            elif buf.startswith(NEWLAND_EXIT_SETUP):
                del buf[:4]
                self.setup_mode = False
                self._queue(NEWLAND_EXIT_ACK)
            elif self.setup_mode and buf.startswith(b"#"):
                end = 1
                while end < len(buf) and end <= 33 and bytes(buf[end : end + 1]).isalnum():
                    end += 1
                if end == len(buf) and end <= 33:
                    return  # wait for the rest of the command
                if buf[end : end + 1] != b";" or end == 1:
                    del buf[:1]  # "#" + 1-32 alphanumerics + ";" or it is not a command
                    continue
                body = bytes(buf[1:end]).decode("ascii", "replace")
                del buf[: end + 1]
                ok = body not in self.refuse
                if ok:
                    self.setup_log.append(body)
                self._queue((b"!" if ok else b"?") + body.encode("ascii", "replace") + b";")
            elif _is_prefix_of_command(bytes(buf)):
                return  # a command split across writes
            else:
                del buf[:1]  # noise: a real scanner ignores what it does not understand

    def _maybe_read(self) -> None:
        while self._held and self.armed:
            payload = self._held.popleft()
            self._queue(self._encode(payload))
            self.reads += 1
            if self.trigger != "none":
                self.armed = False  # a triggered read ends the trigger

    def _encode(self, payload: bytes | str) -> bytes:
        if self.mode == "wedge":
            text = payload.decode("ascii") if isinstance(payload, bytes) else payload
            term = {"cr": "\r", "crlf": "\r", "tab": "\t", "none": ""}[self.suffix.value]
            events: list[KeyEvent] = list(text_to_key_events(text + term))
            now = time.time()
            sec, usec = int(now), int((now % 1) * 1e6)
            return b"".join(encode_input_event(e, sec, usec) for e in events)
        raw = payload.encode("utf-8") if isinstance(payload, str) else payload
        aim = b"]" + self.aim if self.aim else b""
        return aim + raw + self.suffix.terminator

    def _queue(self, data: bytes) -> None:
        self._out.append(data)
        self._cond.notify_all()

    def _pace(self) -> None:
        while True:
            with self._cond:
                while not self._out and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                data = self._out.popleft()
            if self.mode == "wedge":
                # A HID keyboard reports about one key per USB poll: pace by key stroke
                # (down + SYN + up + SYN = 4 records of 24 bytes), not by baud rate.
                per_byte = self.key_interval_s / 96
            elif self.baudrate:
                per_byte = 10.0 / self.baudrate
            else:
                self._to_host.write(data)
                continue
            start = time.monotonic()
            step = max(1, int(0.002 / per_byte))  # about 2 ms of line time per write
            for i in range(0, len(data), step):
                due = start + i * per_byte
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._to_host.write(data[i : i + step])


_COMMANDS = (HONEYWELL_TRIGGER_ON, HONEYWELL_TRIGGER_OFF, NEWLAND_ENTER_SETUP, NEWLAND_EXIT_SETUP)


def _is_prefix_of_command(buf: bytes) -> bool:
    return any(cmd.startswith(buf) and len(buf) < len(cmd) for cmd in _COMMANDS)


def sim_endpoint(params: Mapping[str, list[str]]) -> ScannerEmulator:
    """``sim://scanner?…`` factory (see the module docstring for the options)."""

    def one(key: str, default: str) -> str:
        return params.get(key, [default])[0]

    emulator = ScannerEmulator(
        suffix=Suffix(one("suffix", "cr").lower()),
        trigger=one("trigger", "none").lower(),
        mode=one("mode", "serial").lower(),
        aim=one("aim", ""),
        baudrate=int(one("baud", "115200")) or None,
    )
    payloads: list[bytes | str] = list(params.get("payload", []))
    payloads += [bytes.fromhex(h) for h in params.get("payload_hex", [])]
    if payloads:
        # Presented a little after the open, as a person would: a driver discards input
        # that was waiting when it opened the port.
        delay = float(one("delay_ms", "200")) / 1000.0

        def present_all() -> None:
            for p in payloads:
                emulator.present(p)

        timer = threading.Timer(delay, present_all)
        timer.daemon = True
        timer.start()
    return emulator


class PtyScanner:
    """An emulator behind a real pseudo-terminal: drivers open :attr:`path` like a port.

    The slave side is put in raw mode at once (no CR→LF translation, no echo) and kept open
    so the pty lives until :meth:`close`. Start with ``with PtyScanner(emu) as pty: …``.
    """

    def __init__(self, emulator: ScannerEmulator) -> None:
        self.emulator = emulator
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._to_pty, name="pty-scanner-out", daemon=True),
            threading.Thread(target=self._from_pty, name="pty-scanner-in", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _to_pty(self) -> None:
        pipe = self.emulator.to_host
        while not self._stop.is_set():
            data = pipe.read(1, 0.05)
            if not data:
                if pipe.closed:
                    return
                continue
            os.write(self.master, data + pipe.read(len(pipe), 0))

    def _from_pty(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if data:
                self.emulator.host_write(data)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.emulator.close()
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
