"""The document camera (高拍仪) device: one command, ``capture``, gives a checked JPEG page.

URLs are those of the other cameras (:func:`devices.camera_codes.source.open_source`):
``camera://0`` or ``0`` (device index), ``v4l2:///dev/video2`` or ``/dev/video2``,
``rtsp://…``/``http(s)://…``, and for emulation an image file (re-read at every frame, so
replacing it atomically changes what the camera sees: :mod:`.emulator`), a directory of
images played in a loop, or a video file.

Threading contract: a :class:`devices.base.Device`. The OpenCV source and every frame live
on the worker. While idle the worker reads one frame a second (``poll_interval``): it keeps
``status.detail`` fresh (resolution, exposure, focus, and ``paper`` = present/absent) and
notices an unplugged camera — a vanished file, or a live camera that gives no frame three
times in a row — which the base class reopens with backoff.

Capture (:meth:`DocumentCamera.capture`, on the worker): drop ``drop_frames`` buffered
frames, wait ``settle_s`` (the page stops moving; a live camera keeps being read so its
buffer stays fresh), read a burst of ``burst`` frames, keep the sharpest, refuse it with a
:class:`DocumentCaptureError` if it is too dark, blank or too blurred, and encode it in
memory (``max_edge``, ``jpeg_quality``, ``max_bytes``: :mod:`.quality`). The result is a
:class:`DocumentImage`.

Options: ``width``/``height`` (ask a live camera for a resolution), ``burst`` (5),
``drop_frames`` (2), ``settle_s`` (0.5), ``max_edge`` (2000 px), ``jpeg_quality`` (85),
``max_bytes`` (1,000,000), ``dark_luma`` (45), ``blank_contrast`` (8), ``min_sharpness``
(60).

Personal data: pages are documents about people. Frames and the JPEG stay in memory; the
JPEG leaves only as the command's result; nothing is written to disk and no image content
is logged (errors carry measures, never pixels).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from config.exit_codes import ExitCode
from devices.base import CancelToken, CommandHandle, Device, Identity
from devices.camera_codes.source import CaptureSource, Frame, FrameSource, open_source
from devices.document_camera import quality
from devices.errors import DeviceError, DeviceLostError, DeviceNotFoundError, Remediation

#: Long edge of the preview thumbnail, px.
THUMB_EDGE = 320
#: Consecutive empty reads after which a live camera counts as unplugged.
MISSES_LOST = 3


class DocumentCameraError(DeviceError):
    """The camera itself is at fault (bad option, no frames)."""

    code = "document_camera_error"
    remediation = Remediation.MAINTENANCE
    exit_code = ExitCode.CAMERA_ERROR


class DocumentCaptureError(DeviceError):
    """The page could not be photographed well; ``guidance`` tells the citizen what to do."""

    code = "bad_capture"
    remediation = Remediation.CITIZEN
    exit_code = ExitCode.DOCUMENT_UNREADABLE
    default_consequence = "no picture was kept; the citizen is asked to place the page and retry"
    guidance: tuple[str, str] = (
        "请将材料平放在拍摄区域后重拍",
        "Place the document flat in the capture area and try again",
    )

    def as_dict(self) -> dict[str, object]:
        return {
            **super().as_dict(),
            "guidance": {"zh_CN": self.guidance[0], "en": self.guidance[1]},
        }


class NoDocumentError(DocumentCaptureError):
    code = "no_document"
    exit_code = ExitCode.NO_DOCUMENT
    guidance = ("请将材料平放在拍摄区域", "Place the document flat in the capture area")


class TooDarkError(DocumentCaptureError):
    code = "too_dark"
    guidance = (
        "画面太暗，请移开遮挡拍摄区域的物品后重拍",
        "The picture is too dark; clear the capture area and try again",
    )


class BlurredError(DocumentCaptureError):
    code = "blurred"
    guidance = (
        "照片不清晰，请将材料放平并保持不动后重拍",
        "The picture is blurred; lay the page flat, keep it still and try again",
    )


class ImageTooLargeError(DocumentCaptureError):
    code = "image_too_large"
    remediation = Remediation.CONFIGURATION
    guidance = ("材料照片过大，请联系工作人员", "The picture is too large; please ask the staff")


_ERRORS: dict[str, type[DocumentCaptureError]] = {
    "no_document": NoDocumentError,
    "too_dark": TooDarkError,
    "blurred": BlurredError,
}


@dataclass(frozen=True)
class DocumentImage:
    """One captured page. ``jpeg`` is kept out of ``repr`` (it is a person's document)."""

    jpeg: bytes = field(repr=False)
    width: int
    height: int
    measures: quality.Measures
    frames: int
    #: A small JPEG of the same page (long edge ``THUMB_EDGE``) for the on-screen preview.
    thumbnail: bytes = field(default=b"", repr=False)

    def as_dict(self) -> dict[str, Any]:
        """What a technician or a log may see: sizes and measures, never the picture."""
        return {
            "width": self.width,
            "height": self.height,
            "bytes": len(self.jpeg),
            "frames": self.frames,
            **self.measures.as_dict(),
        }


def _describe(value: float, auto: float | None = None) -> str:
    # V4L2 through OpenCV: auto exposure 0.75 = auto, 0.25 = manual; autofocus 1 / 0
    if auto is not None and auto >= 0.5:
        return f"auto ({value:g})"
    return "n/a" if value in (0.0, -1.0) else f"{value:g}"


class DocumentCamera(Device):
    driver_name = "document_camera"
    poll_interval: float | None = 1.0
    default_timeout = 20.0

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        o = self.options
        try:
            self.want = {k: float(o[k]) for k in ("width", "height") if k in o}
            self.burst = int(o.get("burst", 5))
            self.drop_frames = int(o.get("drop_frames", 2))
            self.settle_s = float(o.get("settle_s", 0.5))
            self.max_edge = int(o.get("max_edge", 2000))
            self.jpeg_quality = int(o.get("jpeg_quality", 85))
            self.max_bytes = int(o.get("max_bytes", 1_000_000))
            self.thresholds = quality.Thresholds(
                dark_luma=float(o.get("dark_luma", 45.0)),
                blank_contrast=float(o.get("blank_contrast", 8.0)),
                min_sharpness=float(o.get("min_sharpness", 60.0)),
            )
        except (TypeError, ValueError) as err:
            raise DocumentCameraError(
                f"bad document camera option: {err}", remediation=Remediation.CONFIGURATION
            ) from err
        if not (
            self.burst >= 1
            and self.drop_frames >= 0
            and self.settle_s >= 0
            and self.max_edge >= quality.MIN_EDGE
            and 1 <= self.jpeg_quality <= 100
            and self.max_bytes >= 10_000
        ):
            raise DocumentCameraError(
                "bad document camera option: burst ≥ 1, drop_frames ≥ 0, settle_s ≥ 0, "
                f"max_edge ≥ {quality.MIN_EDGE}, jpeg_quality 1-100, max_bytes ≥ 10000",
                remediation=Remediation.CONFIGURATION,
            )
        self._src: FrameSource | None = None
        self._misses = 0
        self.frames = 0

    # -- source ----------------------------------------------------------------------------

    @property
    def emulated(self) -> bool:
        return self._src is not None and not isinstance(self._src, CaptureSource)

    def _open(self) -> None:
        import cv2

        src = open_source(self.url)  # DeviceNotFoundError when it is not there
        if isinstance(src, CaptureSource):
            for prop, key in (
                (cv2.CAP_PROP_FRAME_WIDTH, "width"),
                (cv2.CAP_PROP_FRAME_HEIGHT, "height"),
            ):
                if key in self.want:
                    src.set(prop, self.want[key])
        self._src = src
        self._misses = 0
        first = self._read()  # an image file that is not an image fails here, not later
        self._refresh_status(first)

    def _close(self) -> None:
        src, self._src = self._src, None
        if src is not None:
            src.close()

    def _identify(self) -> Identity:
        src = self._src
        backend = src.backend if isinstance(src, CaptureSource) else "file"
        return Identity(
            self.driver_name,
            model="document_camera",
            extra={"backend": backend, "emulated": "yes" if self.emulated else "no"},
            capabilities=frozenset({"document_capture"}),
        )

    def _is_transport_loss(self, err: BaseException) -> bool:
        return isinstance(err, DeviceLostError | DeviceNotFoundError | OSError)

    def _read(self) -> Frame | None:
        """The next frame; None when a file source has ended. A live camera that gives no
        frame ``MISSES_LOST`` times running is lost (the base class reopens it)."""
        src = self._src
        if src is None:
            raise DeviceLostError("the document camera is not open")
        while True:
            frame = src.read()  # a file that vanished raises DeviceNotFoundError
            if frame is not None:
                self._misses = 0
                self.frames += 1
                return np.asarray(frame, dtype=np.uint8)
            if src.ended:
                return None
            self._misses += 1
            if self._misses >= MISSES_LOST:
                raise DeviceLostError("the document camera stopped giving frames (unplugged?)")
            time.sleep(0.02)

    def _refresh_status(self, frame: Frame | None) -> None:
        import cv2

        detail = dict(self.status.detail)
        src = self._src
        if frame is not None:
            h, w = frame.shape[:2]
            detail["resolution"] = f"{w}x{h}"
            m = quality.measure(frame, 320)
            blank = m.contrast < self.thresholds.blank_contrast
            detail["paper"] = (
                "absent" if blank or m.brightness < self.thresholds.dark_luma else "present"
            )
        if isinstance(src, CaptureSource):
            detail["exposure"] = _describe(
                src.get(cv2.CAP_PROP_EXPOSURE), src.get(cv2.CAP_PROP_AUTO_EXPOSURE)
            )
            detail["focus"] = _describe(
                src.get(cv2.CAP_PROP_FOCUS), src.get(cv2.CAP_PROP_AUTOFOCUS)
            )
            detail["emulated"] = "no"
        else:
            detail.setdefault("exposure", "n/a")
            detail.setdefault("focus", "n/a")
            detail["emulated"] = "yes"
        self.update_detail(**detail)

    def _poll(self, token: CancelToken) -> None:
        src = self._src
        if src is not None and src.ended:
            return  # a finished video: nothing more will come
        self._refresh_status(self._read())

    # -- commands --------------------------------------------------------------------------

    def capture(self, timeout: float | None = None) -> CommandHandle:
        """Photograph the page on the platen; the result is a :class:`DocumentImage`."""
        return self.submit("capture_document", self._capture, timeout=timeout)

    def _capture(self, token: CancelToken) -> DocumentImage:
        src = self._src
        assert src is not None
        live = isinstance(src, CaptureSource)
        for _ in range(self.drop_frames):  # frames buffered while idle show the past
            token.check()
            self._read()
        settle_until = time.monotonic() + self.settle_s
        while (left := settle_until - time.monotonic()) > 0:
            token.check()
            if live:
                self._read()
            else:
                time.sleep(token.remaining(min(left, 0.05)))
        best: tuple[quality.Measures, Frame] | None = None
        got = 0
        for _ in range(self.burst):
            token.check()
            frame = self._read()
            if frame is None:
                break
            got += 1
            m = quality.measure(frame)
            if best is None or m.sharpness > best[0].sharpness:
                best = (m, frame)
        if best is None:
            raise DocumentCameraError("the document camera gave no frame")
        measures, frame = best
        self._refresh_status(frame)
        problem = quality.verdict(measures, self.thresholds)
        if problem is not None:
            raise _ERRORS[problem](f"{problem}: {measures.as_dict()}")
        token.check()
        encoded = quality.encode_jpeg(
            frame, quality=self.jpeg_quality, max_edge=self.max_edge, max_bytes=self.max_bytes
        )
        if encoded is None:
            raise ImageTooLargeError(f"the page does not fit in {self.max_bytes} bytes as a JPEG")
        jpeg, w, h = encoded
        thumb = quality.encode_jpeg(
            frame, quality=80, max_edge=THUMB_EDGE, max_bytes=self.max_bytes
        )
        return DocumentImage(jpeg, w, h, measures, got, thumb[0] if thumb else b"")

    def _self_test(self, token: CancelToken) -> Any:
        frame = self._read()
        if frame is None:
            raise DocumentCameraError("the document camera gave no frame")
        self._refresh_status(frame)
        return {**self._identify().as_dict(), "status": dict(self.status.detail)}
