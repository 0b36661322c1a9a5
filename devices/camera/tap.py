"""A frame tap on the face camera: other parts of the kiosk (the remote-help video track)
see the frames the camera device already reads, without opening the camera a second time.

Threading contract: :meth:`FrameTap.put` is called on the camera device's worker thread
with every frame it reads; :meth:`FrameTap.take` is called on any one consumer thread.
Both take a lock held only to swap one reference. The tap keeps the latest frame only
(a newer one replaces it unread), and ``take`` hands it over and forgets it, so no frame
stays in the tap once its consumer has it. No Qt, no aiortc.

Personal data: frames are faces. They are never written anywhere; :meth:`FrameTap.close`
drops the one held.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from numpy.typing import NDArray

Bgr = NDArray[np.uint8]


class FrameTap:
    """The latest BGR frame of a camera, handed over once. ``fps`` is the rate the consumer
    wants; the device reads at least that often while the tap is open."""

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError("a frame tap needs a positive frame rate")
        self.fps = float(fps)
        self._lock = threading.Lock()
        self._frame: Bgr | None = None
        self._at = 0.0  # time.monotonic() of the last frame put
        self.closed = False
        self.frames_put = 0
        self.frames_dropped = 0  # replaced before anyone took them

    def put(self, frame: Bgr) -> None:
        with self._lock:
            if self.closed:
                return
            if self._frame is not None:
                self.frames_dropped += 1
            self._frame = frame
            self._at = time.monotonic()
            self.frames_put += 1

    def take(self) -> Bgr | None:
        """The newest frame not yet taken, or None; the tap forgets it."""
        with self._lock:
            frame, self._frame = self._frame, None
            return frame

    @property
    def last_frame_at(self) -> float:
        """time.monotonic() of the newest frame put (0.0 if none yet)."""
        return self._at

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._frame = None
