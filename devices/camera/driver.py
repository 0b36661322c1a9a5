"""The face camera as a device: OpenCV capture, liveness attempts on the worker.

URLs (as for every device, the URL names the camera):

* ``camera://0`` — a device index; ``v4l2:///dev/video0`` — a V4L2 device path;
* ``rtsp://…`` / ``http(s)://…`` — a network camera through OpenCV's FFmpeg backend;
* a video file, an image file or a directory of images (plain path or ``file://``) —
  the emulator (:class:`devices.camera_codes.emulator.FileCamera`). Emulated frames
  are timed by the file's frame rate (``fps`` option, default the video's or 30), not
  by the wall clock, so a recorded sequence is judged as it was recorded.

Options: ``width``, ``height``, ``fps`` (requested from the camera; the status reports what
it gave — resolution and frame-rate negotiation), ``allow_mouth`` (default true),
``loop`` (emulator: replay the files; default false for videos so an attempt ends).

Threading contract: a :class:`devices.base.Device`. The capture, the landmark model
(loaded once, on first use, on the worker) and every frame live on the worker thread.
While idle the worker grabs a frame every ``poll_interval`` seconds: that keeps the
status fresh (exposure, focus) and notices an unplugged camera, which the base class
then reopens with backoff (an emulated, non-looping video is not read while idle, so an
attempt sees it from its first frame). :meth:`FaceCamera.liveness` runs one whole attempt as one
command; guidance goes to the callback *on the worker thread*.

Frame taps (:mod:`devices.camera.tap`): :meth:`FaceCamera.open_tap` (any thread) gives a
:class:`~devices.camera.tap.FrameTap` that receives every frame the worker reads — idle
polls, checks and liveness attempts alike — so the remote-help video shows the camera
without opening it twice. While a tap is open the idle poll runs at the tap's rate instead
of once a second; :meth:`FaceCamera.close_tap` restores it.

Personal data: frames are faces. They stay in memory; the best frame leaves only as the
attempt's result; nothing is written to disk or logged (the wire log holds sizes only).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
from numpy.typing import NDArray

from config.exit_codes import ExitCode
from devices.base import CancelToken, CommandHandle, Device, Identity
from devices.camera.attempt import Attempt, AttemptResult
from devices.camera.landmarks import FaceLandmarker
from devices.camera.liveness import Guidance, LivenessMachine, Thresholds
from devices.camera.tap import FrameTap
from devices.camera_codes.emulator import FileCamera
from devices.camera_codes.source import IMAGE_SUFFIXES
from devices.errors import DeviceError, DeviceLostError, DeviceNotFoundError, Remediation

Bgr = NDArray[np.uint8]


class CameraError(DeviceError):
    code = "camera_error"
    remediation = Remediation.MAINTENANCE
    exit_code = ExitCode.CAMERA_ERROR


@dataclass(frozen=True)
class CameraCheck:
    width: int
    height: int
    fps: float
    exposure: str
    focus: str
    face_seen: bool
    faces: int
    frames: int
    backend: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 2),
            "exposure": self.exposure,
            "focus": self.focus,
            "face_seen": self.face_seen,
            "faces": self.faces,
            "frames": self.frames,
            "backend": self.backend,
        }


class _Capture:
    """A live OpenCV capture with the properties a status reports."""

    def __init__(self, target: int | str, api: int | None, want: dict[str, float]) -> None:
        import cv2

        self.cv2 = cv2
        cap: Any = cv2.VideoCapture(target) if api is None else cv2.VideoCapture(target, api)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotFoundError(f"OpenCV cannot open camera {target!r}")
        for prop, key in (
            (cv2.CAP_PROP_FRAME_WIDTH, "width"),
            (cv2.CAP_PROP_FRAME_HEIGHT, "height"),
            (cv2.CAP_PROP_FPS, "fps"),
        ):
            if key in want:
                cap.set(prop, want[key])
        self.cap = cap

    def read(self) -> Bgr | None:
        ok, frame = self.cap.read()
        return np.asarray(frame, dtype=np.uint8) if ok else None

    def prop(self, name: str) -> float:
        return float(self.cap.get(getattr(self.cv2, name)))

    def close(self) -> None:
        self.cap.release()


def _describe(value: float, auto: float | None = None) -> str:
    # V4L2 through OpenCV: auto exposure 0.75 = auto, 0.25 = manual; autofocus 1 / 0
    if auto is not None and auto >= 0.5:
        return f"auto ({value:g})"
    return "n/a" if value in (0.0, -1.0) else f"{value:g}"


#: Seconds between idle reads with no tap open (status freshness, unplug detection).
IDLE_POLL_S = 1.0


class FaceCamera(Device):
    driver_name = "camera_face"
    poll_interval: float | None = IDLE_POLL_S
    default_timeout = 60.0

    def __init__(self, name: str, url: str, on_event: Any = None, **kw: Any) -> None:
        super().__init__(name, url, on_event, **kw)
        opts = self.options
        try:
            self.want = {k: float(opts[k]) for k in ("width", "height", "fps") if k in opts}
            self.allow_mouth = bool(opts.get("allow_mouth", True))
            self.loop = bool(opts.get("loop", False))
        except (TypeError, ValueError) as err:
            raise CameraError(
                f"bad camera option: {err}", remediation=Remediation.CONFIGURATION
            ) from err
        self._live: _Capture | None = None
        self._file: FileCamera | None = None
        self._file_fps = 30.0
        self._frame_no = 0
        self._landmarker: FaceLandmarker | None = None
        self.frames = 0
        self._taps_lock = threading.Lock()
        self._taps: tuple[FrameTap, ...] = ()
        self._status_at = 0.0

    # -- frame taps (any thread) ------------------------------------------------------------

    def open_tap(self, fps: float) -> FrameTap:
        """Start handing every frame read to a new tap; the idle poll runs at ``fps``."""
        tap = FrameTap(fps)
        with self._taps_lock:
            self._taps = (*self._taps, tap)
            self._retime_poll()
        return tap

    def close_tap(self, tap: FrameTap) -> None:
        tap.close()
        with self._taps_lock:
            self._taps = tuple(t for t in self._taps if t is not tap)
            self._retime_poll()

    def _retime_poll(self) -> None:
        fastest = max((t.fps for t in self._taps), default=0.0)
        self.poll_interval = min(IDLE_POLL_S, 1.0 / fastest) if fastest else IDLE_POLL_S
        self.wake()

    def _publish(self, frame: Bgr) -> None:
        for tap in self._taps:  # a tuple swapped whole: no lock needed to read it
            tap.put(frame)

    # -- source ----------------------------------------------------------------------------

    @property
    def emulated(self) -> bool:
        return self._file is not None

    def _open(self) -> None:
        import cv2

        url = self.url
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "camera" or url.isdigit():
            raw = url if url.isdigit() else (parts.netloc or parts.path.strip("/"))
            try:
                index = int(raw)
            except ValueError as err:
                raise CameraError(
                    f"{url!r}: expected camera://INDEX", remediation=Remediation.CONFIGURATION
                ) from err
            self._live = _Capture(index, None, self.want)
        elif scheme == "v4l2":
            self._live = _Capture(parts.path, cv2.CAP_V4L2, self.want)
        elif scheme in {"rtsp", "http", "https"}:
            self._live = _Capture(url, cv2.CAP_FFMPEG, self.want)
        elif url.startswith("/dev/video"):
            self._live = _Capture(url, cv2.CAP_V4L2, self.want)
        else:
            self._open_file(Path(unquote(parts.path)) if scheme == "file" else Path(url))
        self._frame_no = 0
        self._refresh_status()

    def _open_file(self, path: Path) -> None:
        import cv2

        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            if not files:
                raise DeviceNotFoundError(f"no frames in {path}")
        elif path.is_file():
            files = [path]
        else:
            raise DeviceNotFoundError(f"no such camera, video or image: {path}")
        fps = self.want.get("fps")
        if fps is None and files[0].suffix.lower() not in IMAGE_SUFFIXES:
            cap = cv2.VideoCapture(str(files[0]))
            fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
            cap.release()
        self._file_fps = fps or 30.0
        loop = self.loop or all(f.suffix.lower() in IMAGE_SUFFIXES for f in files)
        self._file = FileCamera(files, loop=loop)

    def _close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.close()
        src, self._file = self._file, None
        if src is not None:
            src.close()

    def _identify(self) -> Identity:
        backend = "file" if self._file is not None else "opencv"
        if self._live is not None:
            try:
                backend = str(self._live.cap.getBackendName())
            except Exception:  # some backends cannot name themselves
                backend = "opencv"
        return Identity(
            self.driver_name,
            model="camera",
            extra={"backend": backend, "emulated": "yes" if self.emulated else "no"},
            capabilities=frozenset({"face_liveness", "camera_check"}),
        )

    def _read(self) -> tuple[Bgr, float] | None:
        """The next frame and its time in seconds; None at the end of an emulated file.
        A live camera that gives no frame is lost (DeviceLostError: the base reopens it)."""
        if self._live is not None:
            frame = self._live.read()
            if frame is None:
                raise DeviceLostError("the camera stopped giving frames (unplugged?)")
            self.frames += 1
            self._publish(frame)
            return frame, time.monotonic()
        if self._file is None:
            raise DeviceLostError("the camera is not open")
        if self._file.ended:
            return None
        frame = self._file.read()  # DeviceNotFoundError when a file vanished
        if frame is None:
            return None
        self.frames += 1
        self._frame_no += 1
        self._publish(frame)
        return frame, self._frame_no / self._file_fps

    def _is_transport_loss(self, err: BaseException) -> bool:
        return isinstance(err, DeviceLostError | DeviceNotFoundError | OSError)

    def _refresh_status(self) -> None:
        if self._live is not None:
            c = self._live
            detail = {
                "resolution": f"{int(c.prop('CAP_PROP_FRAME_WIDTH'))}x"
                f"{int(c.prop('CAP_PROP_FRAME_HEIGHT'))}",
                "fps": f"{c.prop('CAP_PROP_FPS'):g}",
                "exposure": _describe(
                    c.prop("CAP_PROP_EXPOSURE"), c.prop("CAP_PROP_AUTO_EXPOSURE")
                ),
                "focus": _describe(c.prop("CAP_PROP_FOCUS"), c.prop("CAP_PROP_AUTOFOCUS")),
                "emulated": "no",
            }
        else:
            detail = {
                "resolution": self.status.detail.get("resolution", "unknown"),
                "fps": f"{self._file_fps:g}",
                "exposure": "n/a",
                "focus": "n/a",
                "emulated": "yes",
            }
        self.update_detail(**detail)

    def _poll(self, token: CancelToken) -> None:
        if self._file is not None and not self._file.loop:
            return  # a recorded video is kept whole for the attempt: idle reads would eat it
        got = self._read()
        if got is not None and self.status.detail.get("resolution") in (None, "unknown"):
            h, w = got[0].shape[:2]
            self.update_detail(resolution=f"{w}x{h}")
        # at a tap's rate the camera's properties are still read once a second only
        if self._live is not None and time.monotonic() - self._status_at >= IDLE_POLL_S:
            self._status_at = time.monotonic()
            self._refresh_status()

    # -- commands --------------------------------------------------------------------------

    def _model(self) -> FaceLandmarker:
        if self._landmarker is None:
            self._landmarker = FaceLandmarker()
        return self._landmarker

    def check(self, frames: int = 10, timeout: float | None = 20.0) -> CommandHandle:
        """Resolution, fps, exposure, focus, and whether a face is seen (CameraCheck)."""
        return self.submit("camera_check", lambda tok: self._check(tok, frames), timeout=timeout)

    def _check(self, token: CancelToken, frames: int) -> CameraCheck:
        import cv2

        lm = self._model()
        seen = most = got = 0
        size = (0, 0)
        while got < frames:
            token.check()
            item = self._read()
            if item is None:
                break
            frame, t = item
            got += 1
            size = (frame.shape[1], frame.shape[0])
            rgb = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            n = len(lm.detect(rgb, t))
            seen += n > 0
            most = max(most, n)
        if got == 0:
            raise CameraError("the camera gave no frame", remediation=Remediation.MAINTENANCE)
        self._refresh_status()
        self.update_detail(resolution=f"{size[0]}x{size[1]}")
        d = self.status.detail
        fps = float(d.get("fps", "0") or 0)
        return CameraCheck(
            width=size[0],
            height=size[1],
            fps=fps,
            exposure=d.get("exposure", "n/a"),
            focus=d.get("focus", "n/a"),
            face_seen=seen > 0,
            faces=most,
            frames=got,
            backend=self.identity.extra.get("backend", "") if self.identity else "",
        )

    def liveness(
        self,
        on_guidance: Callable[[Guidance], None] | None = None,
        *,
        timeout: float | None = 60.0,
        rng: random.Random | None = None,
        thresholds: Thresholds | None = None,
    ) -> CommandHandle:
        """Run one liveness attempt; the result is an AttemptResult."""

        def run(token: CancelToken) -> AttemptResult:
            machine = LivenessMachine(rng, thresholds, allow_mouth=self.allow_mouth)
            attempt = Attempt(self._model(), machine, on_guidance=on_guidance)
            return self._run_attempt(token, attempt)

        return self.submit("liveness", run, timeout=timeout)

    def _run_attempt(self, token: CancelToken, attempt: Attempt) -> AttemptResult:
        if self._live is not None:
            for _ in range(3):  # drop frames buffered while idle
                self._live.read()
        t0: float | None = None
        while True:
            token.check()
            item = self._read()
            if item is None:
                return attempt.abandon("video_ended")
            frame, t = item
            t0 = t if t0 is None else t0
            step = attempt.process(frame, t - t0)
            if step.decision is not None:
                return attempt.result()

    def stop(self, timeout: float = 5.0) -> None:
        # the model outlives reconnects (loaded once); it is closed once the worker is gone
        super().stop(timeout)
        lm, self._landmarker = self._landmarker, None
        if lm is not None:
            lm.close()
