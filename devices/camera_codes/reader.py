"""A camera used as a code scanner: frames → ROI → decoder → ``CodeScanned`` events.

Threading contract: a :class:`devices.base.Device`; the frame source and the decoder are
used on the worker only. While idle the worker reads frames continuously and decodes every
``every_nth`` frame (frame skipping) inside the region of interest, which keeps the CPU low
on a 2-core kiosk; ``read_code(timeout)`` waits for the next code. Accepted codes go through
the same duplicate filter and classifier as a hardware scanner and are emitted as
:class:`devices.scanner.core.CodeScanned` with ``source="camera"``.

Options: ``decoder`` (``zxing`` | ``pyzbar`` | ``both``), ``symbologies`` (names from
``decode.SYMBOLOGIES`` as a list or comma string, or ``all``; default QR only), ``roi``
(``"x,y,w,h"`` fractions),
``every_nth`` (1 = every frame), ``duplicate_window_ms``, ``encoding``, ``classify_rules``.
Personal data: frames and decoded codes; frames are never stored, codes never logged.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from devices.base import CancelToken, CommandHandle, Device, Identity
from devices.camera_codes.decode import (
    DEFAULT_SYMBOLOGIES,
    FrameDecoder,
    Roi,
    check_symbologies,
    make_decoder,
    to_gray,
)
from devices.camera_codes.source import Frame, FrameSource, open_source, read_image
from devices.errors import DeviceTimeoutError, Remediation
from devices.scanner.classify import Classifier, ScannedCode
from devices.scanner.core import CodeScanned, ScannerConfigError
from devices.scanner.protocol import DuplicateFilter, PayloadEncoding, decode_payload


def codes_in_frame(
    frame: Frame,
    decoder: FrameDecoder,
    *,
    roi: Roi | None = None,
    classifier: Classifier | None = None,
    encoding: PayloadEncoding = PayloadEncoding.AUTO,
    source: str = "camera",
) -> list[ScannedCode]:
    """Decode and classify every code in one frame (inside ``roi`` when given)."""
    gray = to_gray(frame)
    if roi is not None:
        gray = roi.crop(gray)
    classifier = classifier or Classifier()
    out = []
    for sym in decoder.decode(gray):
        payload = decode_payload(sym.raw, encoding)
        kind, ref = classifier.classify(payload)
        out.append(ScannedCode(kind, sym.symbology, payload, ref, source))
    return out


def decode_image_file(path: Path, decoder: FrameDecoder, **kw: Any) -> list[ScannedCode]:
    """Codes in an image file (DeviceNotFoundError when it is missing or unreadable)."""
    return codes_in_frame(read_image(path), decoder, source="image", **kw)


class CameraCodeReader(Device):
    driver_name = "camera_codes"
    poll_interval = 0.0

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        opts = self.options
        try:
            self.decoder_name = str(opts.get("decoder", "zxing"))
            raw = opts.get("symbologies", DEFAULT_SYMBOLOGIES)
            names = raw.split(",") if isinstance(raw, str) else [str(s) for s in raw]
            self.symbologies = check_symbologies([n.strip() for n in names])
            self.roi = Roi.parse(opts.get("roi"))
            self.every_nth = int(opts.get("every_nth", 2))
            self.encoding = PayloadEncoding(str(opts.get("encoding", "auto")))
            self.classifier = Classifier.from_options(opts.get("classify_rules"))
            window = float(opts.get("duplicate_window_ms", 3000)) / 1000.0
        except (TypeError, ValueError) as err:
            raise ScannerConfigError(f"bad camera scanner option: {err}") from err
        if self.every_nth < 1:
            raise ScannerConfigError("every_nth must be 1 or more")
        self.dupes = DuplicateFilter(window)
        self._src: FrameSource | None = None
        self._decoder: FrameDecoder | None = None
        self.frames = 0
        self.decoded_frames = 0

    def _open(self) -> None:
        try:
            self._decoder = make_decoder(self.decoder_name, self.symbologies)
        except ValueError as err:
            raise ScannerConfigError(str(err)) from err
        self._src = open_source(self.url)

    def _close(self) -> None:
        src, self._src = self._src, None
        if src is not None:
            src.close()

    def _identify(self) -> Identity:
        name = self._decoder.name if self._decoder else self.decoder_name
        return Identity(
            self.driver_name,
            model="camera",
            extra={"decoder": name},
            capabilities=frozenset({"camera_decode"}),
        )

    def read_code(self, timeout: float) -> CommandHandle:
        return self.submit("read_code", self._read_code, timeout=timeout)

    def _read_code(self, token: CancelToken) -> ScannedCode:
        # A step that asks for a code wants the one in view now, even if it was already
        # reported while idle.
        self.dupes.clear()
        while True:
            try:
                token.check()
            except DeviceTimeoutError as err:
                raise DeviceTimeoutError(
                    f"no code was seen within {token.timeout:g} s",
                    remediation=Remediation.CITIZEN,
                    consequence="nothing was read; hold the code in front of the camera",
                ) from err
            codes = self._step()
            if codes:
                return codes[0]
            if self._src is not None and self._src.ended:
                raise DeviceTimeoutError(
                    "the video ended without a readable code", remediation=Remediation.CITIZEN
                )

    def _poll(self, token: CancelToken) -> None:
        if self._src is not None and self._src.ended:
            time.sleep(0.05)  # a finished file: nothing more will come
            return
        self._step()

    def _step(self) -> list[ScannedCode]:
        assert self._src is not None and self._decoder is not None
        frame = self._src.read()
        if frame is None:
            if not self._src.ended:
                time.sleep(0.005)
            return []
        self.frames += 1
        if (self.frames - 1) % self.every_nth:
            return []
        self.decoded_frames += 1
        now = time.monotonic()
        accepted = []
        for code in codes_in_frame(
            frame,
            self._decoder,
            roi=self.roi,
            classifier=self.classifier,
            encoding=self.encoding,
        ):
            if self.dupes.accept(code.raw, now):
                accepted.append(code)
                self.emit(CodeScanned(self.name, code))
        return accepted
