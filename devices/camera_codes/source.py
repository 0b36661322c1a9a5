"""Frame sources for code decoding: OpenCV captures and image/video files.

URLs: ``camera://0`` (device index), ``v4l2:///dev/video0``, ``rtsp://…`` / ``http(s)://…``
(network streams through OpenCV's FFmpeg backend), ``file:///path`` or a plain path to an
image (``.png``/``.jpg``/… repeated as a still camera), a video file, or a directory of
images (the file camera emulator, :mod:`devices.camera_codes.emulator`).

Threading: a source is created, read and closed on one thread (the camera device's worker):
OpenCV capture objects are not thread-safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import numpy as np
from numpy.typing import NDArray

from devices.errors import DeviceNotFoundError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})

Frame = NDArray[np.uint8]


class FrameSource(Protocol):
    def read(self) -> Frame | None:
        """The next frame, or None when none is available now (end of a file: see ``ended``)."""

    @property
    def ended(self) -> bool: ...

    def close(self) -> None: ...


class CaptureSource:
    """An OpenCV ``VideoCapture`` (camera index, device path, stream URL, video file)."""

    def __init__(self, target: int | str, api: int | None = None, *, is_file: bool = False):
        import cv2

        self._cap: Any = cv2.VideoCapture(target) if api is None else cv2.VideoCapture(target, api)
        if not self._cap.isOpened():
            self._cap.release()
            raise DeviceNotFoundError(f"OpenCV cannot open {target!r}")
        self._is_file = is_file
        self._ended = False

    def read(self) -> Frame | None:
        ok, frame = self._cap.read()
        if not ok:
            if self._is_file:
                self._ended = True
            return None
        result: Frame = frame
        return result

    @property
    def ended(self) -> bool:
        return self._ended

    def set(self, prop: int, value: float) -> None:
        """Ask the capture for a property (``cv2.CAP_PROP_*``); drivers may ignore it."""
        self._cap.set(prop, value)

    def get(self, prop: int) -> float:
        """A capture property (``cv2.CAP_PROP_*``); 0 or -1 when the backend has none."""
        return float(self._cap.get(prop))

    @property
    def backend(self) -> str:
        try:
            return str(self._cap.getBackendName())
        except Exception:  # some backends cannot name themselves
            return "opencv"

    def close(self) -> None:
        self._cap.release()


def read_image(path: Path) -> Frame:
    """Load an image as BGR; DeviceNotFoundError when missing or not an image."""
    import cv2

    if not path.is_file():
        raise DeviceNotFoundError(f"no such image file: {path}")
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise DeviceNotFoundError(f"{path} is not an image OpenCV can read")
    return np.asarray(frame, dtype=np.uint8)


def open_source(url: str) -> FrameSource:
    """Open a frame source by URL (see the module docstring)."""
    import cv2

    from devices.camera_codes.emulator import FileCamera

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "camera":
        try:
            index = int(parts.netloc or parts.path.strip("/"))
        except ValueError as err:
            raise DeviceNotFoundError(f"{url!r}: expected camera://INDEX") from err
        return CaptureSource(index)
    if scheme == "v4l2":
        return CaptureSource(parts.path, cv2.CAP_V4L2)
    if scheme in {"rtsp", "http", "https"}:
        return CaptureSource(url, cv2.CAP_FFMPEG)
    if url.isdigit():
        return CaptureSource(int(url))
    path = Path(unquote(parts.path)) if scheme == "file" else Path(url)
    if path.is_dir():
        return FileCamera(sorted(p for p in path.iterdir() if p.is_file()), loop=True)
    if not path.exists():
        raise DeviceNotFoundError(f"no such file or device: {path}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FileCamera([path], loop=True)
    return CaptureSource(str(path), is_file=True)
