"""Camera emulator: frames from image and video files, as a live camera would give them.

:class:`FileCamera` plays a list of files in order — each image as ``frames_per_image``
identical frames (a code held still in front of the lens), each video frame by frame — and
then loops or ends. Unreadable files raise :class:`DeviceNotFoundError` when reached, so a
misconfigured demo fails loudly. Optional ``fps`` pacing sleeps between frames like a
capture device; tests leave it off.

Threading: one thread (the camera device's worker), like any frame source.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from devices.camera_codes.source import IMAGE_SUFFIXES, CaptureSource, Frame, read_image


class FileCamera:
    def __init__(
        self,
        files: Sequence[Path],
        *,
        loop: bool = True,
        frames_per_image: int = 1,
        fps: float | None = None,
    ) -> None:
        if not files:
            raise ValueError("the file camera needs at least one image or video file")
        self.files = [Path(f) for f in files]
        self.loop = loop
        self.frames_per_image = max(1, frames_per_image)
        self.fps = fps
        self._frames = self._generate()
        self._ended = False
        self._next_at = 0.0

    def _one_file(self, path: Path) -> Iterator[Frame]:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            still = read_image(path)
            for _ in range(self.frames_per_image):
                yield still
            return
        cap = CaptureSource(str(path), is_file=True)
        try:
            while (frame := cap.read()) is not None:
                yield frame
        finally:
            cap.close()

    def _generate(self) -> Iterator[Frame]:
        while True:
            for path in self.files:
                yield from self._one_file(path)
            if not self.loop:
                return

    def read(self) -> Frame | None:
        if self._ended:
            return None
        if self.fps:
            delay = self._next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_at = time.monotonic() + 1.0 / self.fps
        frame = next(self._frames, None)
        if frame is None:
            self._ended = True
        return frame

    @property
    def ended(self) -> bool:
        return self._ended

    def close(self) -> None:
        self._ended = True
