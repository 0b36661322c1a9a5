"""The kiosk camera as a WebRTC video track for remote help (aiortc).

:class:`CameraTrack` sends what the camera *device* already reads
(:meth:`devices.camera.driver.FaceCamera.open_tap`): the camera is never opened a second
time, and a liveness attempt running during the call keeps working. With no camera device,
or while it gives no frames (down, unplugged, an emulated video kept for an attempt), the
track sends a test card of colour bars with a dark "no camera" band, so the assistant sees
at once that the kiosk has no picture rather than a frozen or black one.

Frames: BGR from the device, scaled to the :class:`MediaConfig` size and converted to
yuv420p in one swscale pass; ``pts`` in 1/90000 s on the grid of the configured ``fps``
(a frame that comes late takes the slot of its arrival, so timestamps keep pace with the
wall clock and never repeat). At most ``fps`` frames a second leave, never more than the
camera gives: a frame is sent once and not repeated. ``on_sent`` sees each frame sent (the
app's local preview of what the assistant sees).

Threading contract: :meth:`CameraTrack.recv` runs on the remote-help asyncio loop
(kiosk.remote.client); the tap is filled by the camera's worker thread and handed over
under its lock. :meth:`CameraTrack.stop` (on the loop, from KioskMedia.close) closes the
tap so the device goes back to its slow idle poll.

Personal data: frames are the citizen's face. No frame is kept after it is sent (the tap
hands each one over once and this track holds none between calls); nothing is written or
logged.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame
from numpy.typing import NDArray

from kiosk.remote.media_config import MediaConfig

CLOCK_RATE = 90_000
#: Without a camera frame for this long, the test card goes out instead.
STALE_S = 1.0
#: 75 % colour bars (white, yellow, cyan, green, magenta, red, blue), RGB
BARS = (
    (191, 191, 191),
    (191, 191, 0),
    (0, 191, 191),
    (0, 191, 0),
    (191, 0, 191),
    (191, 0, 0),
    (0, 0, 191),
)


class FrameSource(Protocol):
    """What the track needs of a tap (devices.camera.tap.FrameTap)."""

    def take(self) -> NDArray[np.uint8] | None: ...

    @property
    def last_frame_at(self) -> float: ...


def no_camera_card(width: int, height: int) -> NDArray[np.uint8]:
    """Colour bars with a dark band across the middle: "this kiosk sends no camera"."""
    card = np.zeros((height, width, 3), dtype=np.uint8)
    edges = np.linspace(0, width, len(BARS) + 1).astype(int)
    for (r, g, b), x0, x1 in zip(BARS, edges[:-1], edges[1:], strict=True):
        card[:, x0:x1] = (r, g, b)
    card[height * 2 // 5 : height * 3 // 5] = (16, 16, 16)
    return card


class CameraTrack(MediaStreamTrack):
    kind = "video"

    def __init__(
        self,
        config: MediaConfig,
        source: FrameSource | None,
        *,
        on_sent: Callable[[VideoFrame], None] | None = None,
        release: Callable[[], None] | None = None,
        stale_s: float = STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.config = config
        self.source = source
        self.on_sent = on_sent
        self._release = release
        self.stale_s = stale_s
        self.clock = clock
        self._card = no_camera_card(config.width, config.height)
        self._t0: float | None = None
        self._next = 0  # the next free slot on the fps grid
        self.camera_frames = 0  # frames sent from the camera
        self.card_frames = 0  # test-card frames sent

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        fps = self.config.fps
        if self._t0 is None:
            self._t0 = self.clock()
        delay = self._t0 + self._next / fps - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = await self._next_frame()
        slot = max(self._next, int((self.clock() - self._t0) * fps))
        self._next = slot + 1
        frame.pts = round(slot * CLOCK_RATE / fps)
        frame.time_base = fractions.Fraction(1, CLOCK_RATE)
        if self.on_sent is not None:
            self.on_sent(frame)
        return frame

    async def _next_frame(self) -> VideoFrame:
        """The camera's newest frame, waiting for one while the camera is live; the card
        once it has given none for ``stale_s``."""
        assert self._t0 is not None
        source = self.source
        poll = min(0.01, 0.25 / self.config.fps)
        while source is not None:
            raw = source.take()
            if raw is not None:
                self.camera_frames += 1
                return self._scaled(VideoFrame.from_ndarray(raw, format="bgr24"))
            if self.clock() - max(source.last_frame_at, self._t0) > self.stale_s:
                break
            await asyncio.sleep(poll)
            if self.readyState != "live":
                raise MediaStreamError
        self.card_frames += 1
        return self._scaled(VideoFrame.from_ndarray(self._card, format="rgb24"))

    def _scaled(self, frame: VideoFrame) -> VideoFrame:
        c = self.config
        return frame.reformat(width=c.width, height=c.height, format="yuv420p")

    def stop(self) -> None:
        super().stop()
        release, self._release = self._release, None
        if release is not None:
            release()


def device_camera(
    config: MediaConfig,
    device: Any,
    *,
    on_sent: Callable[[VideoFrame], None] | None = None,
) -> CameraTrack:
    """A track on ``device`` (a FaceCamera, or anything with ``open_tap``/``close_tap``);
    the test card alone when there is no such device."""
    if device is None or not hasattr(device, "open_tap"):
        return CameraTrack(config, None, on_sent=on_sent)
    tap = device.open_tap(config.fps)
    return CameraTrack(config, tap, on_sent=on_sent, release=lambda: device.close_tap(tap))
