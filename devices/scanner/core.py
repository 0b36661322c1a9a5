"""What every code scanner shares: options, the ``CodeScanned`` event, frame → code pipeline.

Threading contract: a scanner is a :class:`devices.base.Device`; all reading happens on its
worker. While idle the worker polls the transport continuously (``poll_interval = 0``, each
poll blocks in the transport's read for at most ``read_slice_s``), so a scan is framed and
reported within one read of its last byte. Commands (``arm``, ``disarm``, ``read_code``)
are queued like any device command and run between polls; ``read_code`` reads the
transport itself until a code arrives or its timeout expires.

Every accepted scan is emitted as :class:`CodeScanned` (on the worker thread). Personal
data: the code's text travels only inside the event and command results; the wire log keeps
frame lengths only, and the duplicate filter keeps a keyed hash (see ``protocol.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from config.logs import Safe
from devices.base import CancelToken, CommandHandle, Device, DeviceEvent
from devices.errors import DeviceError, DeviceTimeoutError, Remediation
from devices.scanner.classify import Classifier, ScannedCode
from devices.scanner.protocol import (
    DuplicateFilter,
    Framer,
    PayloadEncoding,
    Suffix,
    decode_payload,
    split_aim,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeScanned(DeviceEvent):
    """A scanner read a code (``code`` hides its text in ``repr``)."""

    code: ScannedCode


class CodeScanner(Protocol):
    """The capability flows and the kiosk use, whatever the scanner's transport."""

    def arm(self) -> CommandHandle: ...

    def disarm(self) -> CommandHandle: ...

    def read_code(self, timeout: float) -> CommandHandle: ...


class ScannerConfigError(DeviceError):
    code = "scanner_config"
    remediation = Remediation.CONFIGURATION
    default_consequence = "the scanner cannot be used until its options are corrected"


@dataclass(frozen=True)
class ScannerOptions:
    """Device ``options`` of a scanner, validated (``ScannerConfigError`` names the key)."""

    suffix: Suffix = Suffix.CR
    gap_s: float = 0.05
    encoding: PayloadEncoding = PayloadEncoding.AUTO
    aim_ids: bool = False
    duplicate_window_s: float = 1.5
    max_len: int = 4096
    classifier: Classifier = field(default_factory=Classifier)

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> ScannerOptions:
        try:
            suffix = Suffix(str(options.get("suffix", "cr")).lower())
            encoding = PayloadEncoding(str(options.get("encoding", "auto")).lower())
            gap = float(options.get("gap_ms", 50)) / 1000.0
            window = float(options.get("duplicate_window_ms", 1500)) / 1000.0
            max_len = int(options.get("max_len", 4096))
            classifier = Classifier.from_options(options.get("classify_rules"))
        except (TypeError, ValueError) as err:
            raise ScannerConfigError(f"bad scanner option: {err}") from err
        if not 0.005 <= gap <= 5.0:
            raise ScannerConfigError("gap_ms must be between 5 and 5000")
        if not 0 <= window <= 60:
            raise ScannerConfigError("duplicate_window_ms must be between 0 and 60000")
        if not 16 <= max_len <= 1 << 20:
            raise ScannerConfigError("max_len must be between 16 and 1048576")
        return cls(
            suffix, gap, encoding, bool(options.get("aim_ids", False)), window, max_len, classifier
        )


class ScannerDevice(Device):
    """Base of the serial and wedge drivers: subclasses provide ``_read_bytes``."""

    poll_interval = 0.0
    #: Upper bound of one blocking read; commands wait at most this long behind a poll.
    read_slice_s = 0.05
    source = "serial"

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        self.opts = ScannerOptions.parse(self.options)
        self.framer = Framer(self.opts.suffix, self.opts.gap_s, max_len=self.opts.max_len)
        self.dupes = DuplicateFilter(self.opts.duplicate_window_s)
        self.scans = 0  # accepted scans since start (diagnostics)

    # -- subclass hook --------------------------------------------------------------------

    def _read_bytes(self, timeout: float) -> bytes:
        """Block up to ``timeout`` for input; return what arrived (possibly b"")."""
        raise NotImplementedError

    # -- commands -------------------------------------------------------------------------

    def arm(self) -> CommandHandle:
        return self.submit("arm", lambda _t: self._arm())

    def disarm(self) -> CommandHandle:
        return self.submit("disarm", lambda _t: self._disarm())

    def read_code(self, timeout: float) -> CommandHandle:
        """Arm, wait for the next code, disarm; the result is a :class:`ScannedCode`."""
        return self.submit("read_code", self._read_code, timeout=timeout)

    def _arm(self) -> None:
        self.update_detail(armed="yes")

    def _disarm(self) -> None:
        self.update_detail(armed="no")

    def _read_code(self, token: CancelToken) -> ScannedCode:
        self.dupes.clear()  # a new step may deliberately take the same code again
        self._arm()
        try:
            while True:
                try:
                    token.check()
                except DeviceTimeoutError as err:
                    raise DeviceTimeoutError(
                        f"no code was scanned within {token.timeout:g} s",
                        remediation=Remediation.CITIZEN,
                        consequence="nothing was read; present the code and try again",
                    ) from err
                codes = self._pump(token.remaining(self._slice()))
                if codes:
                    return codes[0]
        finally:
            self._disarm()

    # -- the pipeline ---------------------------------------------------------------------

    def _slice(self) -> float:
        deadline = self.framer.next_deadline()
        if deadline is None:
            return self.read_slice_s
        return max(0.0, min(self.read_slice_s, deadline - time.monotonic()))

    def _poll(self, token: CancelToken) -> None:
        self._pump(self._slice())

    def _pump(self, timeout: float) -> list[ScannedCode]:
        data = self._read_bytes(timeout)
        now = time.monotonic()
        frames = self.framer.feed(data, now) if data else []
        late = self.framer.flush_due(now)
        if late is not None:
            frames.append(late)
        codes = []
        for frame in frames:
            code = self.handle_frame(frame, now)
            if code is not None:
                codes.append(code)
        return codes

    def handle_frame(self, frame: bytes, now: float) -> ScannedCode | None:
        """Frame → code → event; None when suppressed as a duplicate."""
        self.record_wire("rx", frame)
        symbology, body = split_aim(frame) if self.opts.aim_ids else (None, frame)
        if not self.dupes.accept(body, now):
            log.debug("duplicate scan suppressed on %s", Safe(self.name))
            return None
        payload = decode_payload(body, self.opts.encoding)
        kind, ref = self.opts.classifier.classify(payload)
        code = ScannedCode(kind, symbology or "unknown", payload, ref, self.source)
        self.scans += 1
        self.emit(CodeScanned(self.name, code))
        return code
