"""Pictures for the kiosk app's video corner: the assistant's video and the local preview
(what the assistant sees), converted off the GUI thread and handed over without queueing.

Threading contract: :meth:`PictureRelay.assistant_frame` and :meth:`PictureRelay.preview_frame`
run on the remote-help asyncio loop (they are the session's ``on_frame`` and the camera
track's ``on_sent``). Each keeps at most ``max_fps`` frames a second per source, scales
and converts them to packed RGB888 there (the GUI thread only wraps the bytes in a QImage),
and puts the picture in a one-picture slot per source. A :class:`PictureReady` notice goes
through ``post`` (the runtime's, so to the GUI thread) only when the slot was empty; while
the GUI has not taken the picture, newer frames are dropped before any conversion. So at
most one picture and one notice per source are ever waiting, however far the GUI is behind.
:meth:`PictureRelay.take` and :meth:`PictureRelay.close` are for the GUI thread; a lock
guards the slots.

Personal data: preview pictures show the citizen's face. They live in the slot until the
app takes them or :meth:`close` drops them; nothing is written or logged (``repr`` of a
picture shows its size only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # av comes with aiortc; frames arrive only when it is installed
    from av import VideoFrame

Source = Literal["assistant", "preview"]
SOURCES: tuple[Source, ...] = ("assistant", "preview")
#: Widths the app draws at; heights follow the frame's aspect ratio.
WIDTHS: dict[Source, int] = {"assistant": 320, "preview": 160}


@dataclass(frozen=True, slots=True)
class PictureReady:
    """Notice to the app: a picture of ``source`` waits in ``Runtime.remote_video``."""

    source: Source


@dataclass(frozen=True, slots=True)
class Picture:
    """Packed RGB888 rows (``3 * width`` bytes each)."""

    source: Source
    width: int
    height: int
    rgb: bytes = field(repr=False)


class PictureRelay:
    def __init__(
        self,
        post: Callable[[object], None],
        *,
        max_fps: float = 10.0,
        widths: dict[Source, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.post = post
        self.min_gap = 1.0 / max_fps
        self.widths = dict(widths or WIDTHS)
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[Source, Picture | None] = dict.fromkeys(SOURCES)
        self._last: dict[Source, float] = dict.fromkeys(SOURCES, float("-inf"))
        self._closed = False
        self.converted = 0
        self.dropped = 0  # the GUI had not taken the previous picture yet

    # -- remote-help loop ------------------------------------------------------------------

    def assistant_frame(self, frame: VideoFrame) -> None:
        self._offer("assistant", frame)

    def preview_frame(self, frame: VideoFrame) -> None:
        self._offer("preview", frame)

    def _offer(self, source: Source, frame: VideoFrame) -> None:
        now = self.clock()
        if now - self._last[source] < self.min_gap:
            return
        with self._lock:
            if self._closed:
                return
            if self._slots[source] is not None:
                self.dropped += 1
                return
        self._last[source] = now
        width = self.widths[source]
        height = max(2, round(width * frame.height / max(1, frame.width) / 2) * 2)
        rgb = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
        picture = Picture(source, width, height, rgb.tobytes())
        with self._lock:
            if self._closed:
                return
            self._slots[source] = picture
            self.converted += 1
        self.post(PictureReady(source))

    # -- GUI thread ------------------------------------------------------------------------

    def take(self, source: Source) -> Picture | None:
        with self._lock:
            picture, self._slots[source] = self._slots[source], None
            return picture

    def close(self) -> None:
        """The help session is over: drop waiting pictures and take no more."""
        with self._lock:
            self._closed = True
            self._slots = dict.fromkeys(SOURCES)
