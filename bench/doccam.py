"""Benchmark: the document camera (高拍仪) on its emulator.

Printed figures:

* time of one ``capture`` command (drop 2 frames, no settle, a burst of 5, the checks, the
  JPEG encode) on an A4 page at 150 dpi (1240×1754) and at 300 dpi (2480×3508, the size of
  a 5 MP document camera's frame), median and max;
* the measure (brightness, contrast, sharpness) per frame at both sizes;
* the JPEG's bytes at ``max_edge`` 2000 / quality 85 and how many such pages fit one case
  under the session budget (kiosk.captured.MAX_SESSION_BYTES).

The emulator re-reads (decodes) the page file for every frame, which a real camera does not
do: the capture time here is an upper bound of the work on the worker.

Run: ``.venv/bin/python -m bench.doccam [--captures 10]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from devices.document_camera import quality
from devices.document_camera.driver import DocumentCamera
from devices.document_camera.emulator import PlatenEmulator
from devices.document_camera.synthetic import render_page
from kiosk.captured import MAX_SESSION_BYTES
from printing.pdf import FontMissingError, font_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", type=int, default=10)
    args = ap.parse_args()
    try:
        font: Path | None = font_path()
    except FontMissingError:
        font = None
    with tempfile.TemporaryDirectory() as tmp:
        for dpi, size in ((150, (1240, 1754)), (300, (2480, 3508))):
            page = render_page(font, size)
            t = []
            for _ in range(20):
                t0 = time.perf_counter()
                quality.measure(page)
                t.append((time.perf_counter() - t0) * 1000)
            print(f"A4 {dpi} dpi {size[0]}x{size[1]}: measure {statistics.median(t):.1f} ms/frame")
            emu = PlatenEmulator(Path(tmp) / f"platen{dpi}.png", font=font, placed=False)
            emu.place(page)
            cam = DocumentCamera(
                "document_camera", emu.url, options={"settle_s": 0, "drop_frames": 2, "burst": 5}
            )
            try:
                times = []
                image = None
                for _ in range(args.captures):
                    t0 = time.perf_counter()
                    image = cam.capture(timeout=60).wait(70)
                    times.append((time.perf_counter() - t0) * 1000)
            finally:
                cam.stop()
                emu.close()
            assert image is not None
            print(
                f"  capture: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms "
                f"over {len(times)}; JPEG {image.width}x{image.height} {len(image.jpeg):,} bytes, "
                f"thumbnail {len(image.thumbnail):,} bytes"
            )
            print(f"  pages of this size per case: {MAX_SESSION_BYTES // len(image.jpeg)}")


if __name__ == "__main__":
    main()
