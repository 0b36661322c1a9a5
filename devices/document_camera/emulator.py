"""The document camera emulator: a platen made of one image file.

The driver opens the file as a still camera (:mod:`devices.camera_codes.emulator` re-reads
it at every frame), so whatever this emulator writes there is what the camera sees next.
Every change is written to a temporary file and renamed over the platen (atomic on POSIX),
so the driver never reads half a picture.

Levers (the developer panel's and the tests'): :meth:`place` a page (the synthetic sample by
default, or any image), :meth:`remove` it (the empty mat: a blank frame), the faults
``dark`` (lights off / lens covered) and ``blur`` (the page moved), :meth:`unplug` (the file
goes away: the driver's next read fails and the base class reconnects with backoff) and
:meth:`replug`.

Threading: the levers may be called from any thread (a lock orders the writes).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from devices.document_camera.synthetic import A4_150DPI, Bgr, empty_platen, render_page

FAULTS = frozenset({"dark", "blur"})


class PlatenEmulator:
    def __init__(self, path: Path, *, font: Path | None = None, placed: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.font = font
        self._lock = threading.Lock()
        self._page: Bgr | None = None
        self._faults: set[str] = set()
        self._plugged = True
        if placed:
            self.place()
        else:
            self.remove()

    @property
    def url(self) -> str:
        return str(self.path)

    @property
    def placed(self) -> bool:
        return self._page is not None

    @property
    def faults(self) -> frozenset[str]:
        return frozenset(self._faults)

    def place(self, page: Bgr | Path | None = None) -> None:
        """Put a page on the platen: an image, an image file, or the synthetic sample."""
        if page is None:
            image = render_page(self.font)
        elif isinstance(page, Path):
            read = cv2.imread(str(page), cv2.IMREAD_COLOR)
            if read is None:
                raise ValueError(f"{page} is not an image")
            image = np.asarray(read, dtype=np.uint8)
        else:
            image = page
        with self._lock:
            self._page = image
            self._write()

    def remove(self) -> None:
        """Take the page away: the camera sees the empty mat."""
        with self._lock:
            self._page = None
            self._write()

    def set_fault(self, name: str, on: bool = True) -> None:
        if name not in FAULTS:
            raise ValueError(f"no document camera fault {name!r} (known: {sorted(FAULTS)})")
        with self._lock:
            (self._faults.add if on else self._faults.discard)(name)
            self._write()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._write()

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False
            self.path.unlink(missing_ok=True)

    def replug(self) -> None:
        with self._lock:
            self._plugged = True
            self._write()

    def _write(self) -> None:
        if not self._plugged:
            return
        size = A4_150DPI if self._page is None else (self._page.shape[1], self._page.shape[0])
        frame = empty_platen(size) if self._page is None else self._page
        if "blur" in self._faults:
            frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), 9), dtype=np.uint8)
        if "dark" in self._faults:
            frame = np.asarray(frame * 0.08, dtype=np.uint8)
        tmp = self.path.with_name(f".{self.path.name}.tmp{self.path.suffix}")
        if not cv2.imwrite(str(tmp), frame):
            raise OSError(f"cannot write the emulated platen {tmp}")
        os.replace(tmp, self.path)

    def close(self) -> None:
        with self._lock:
            self._plugged = False
            self.path.unlink(missing_ok=True)
