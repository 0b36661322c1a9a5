"""Document-camera (高拍仪) command attached to ``kiosk devices`` (see kiosk.cli.devices).

* ``capture-document --url URL --out FILE.jpg [--json] [--max-edge PX] [--quality Q]
  [--max-bytes N] [--settle S] [--timeout S]`` — photograph the page on the platen the way
  the kiosk does (a burst, the sharpest frame, blank/dark/blurred pages refused) and write
  the JPEG to FILE (mode 0600: a page may be a person's document). Prints the size and the
  measures (brightness, contrast, sharpness), never the picture.

URLs: ``camera://N``, ``v4l2:///dev/videoN``, ``rtsp://…``, or an image file, a directory
of images or a video (the emulator).

Exit codes: 0 captured; 28 nothing on the platen (blank frame); 29 too dark, too blurred or
too large; 25 camera error (cannot open, no frames); 11 timeout; 2 bad usage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from config import ExitCode
from devices.base import Backoff
from devices.errors import DeviceError, DeviceNotFoundError
from kiosk.cli.common import fail, out, print_json
from kiosk.cli.devices import app


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@app.command("capture-document")
def capture_document(
    *,
    url: Annotated[str, typer.Option(help="camera://N, v4l2:///dev/videoN, rtsp://…, a file.")],
    out_: Annotated[Path, typer.Option("--out", help="Where to write the JPEG.")],
    max_edge: Annotated[int, typer.Option(help="Longest side of the JPEG, px.")] = 2000,
    quality: Annotated[int, typer.Option(help="JPEG quality (1-100).")] = 85,
    max_bytes: Annotated[int, typer.Option(help="Largest JPEG accepted, bytes.")] = 1_000_000,
    settle: Annotated[float, typer.Option(help="Seconds to let the page settle.")] = 0.5,
    timeout: Annotated[float, typer.Option(help="Seconds for the whole capture.")] = 20.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Photograph the page on the document camera and write it as a JPEG."""
    from devices.document_camera.driver import DocumentCamera

    if timeout <= 0:
        fail("--timeout must be positive", ExitCode.USAGE, as_json=json_)
    if not out_.parent.is_dir():
        fail(f"no such directory: {out_.parent}", ExitCode.USAGE, as_json=json_)
    options: dict[str, Any] = {
        "max_edge": max_edge,
        "jpeg_quality": quality,
        "max_bytes": max_bytes,
        "settle_s": settle,
    }
    try:
        cam = DocumentCamera(
            "document_camera", url, options=options, backoff=Backoff(base=60.0, cap=60.0)
        )
    except DeviceError as exc:
        fail(exc.reason, ExitCode.USAGE, as_json=json_, error_code=exc.code)
    try:
        image = cam.capture(timeout=timeout).wait(timeout + 10)
    except DeviceError as exc:
        code = ExitCode.CAMERA_ERROR if isinstance(exc, DeviceNotFoundError) else exc.exit_code
        guidance = exc.as_dict().get("guidance")
        extra = {"guidance": guidance} if guidance else {}
        fail(exc.reason, code, as_json=json_, error_code=exc.code, **extra)
    finally:
        cam.stop()
    _write_private(out_, image.jpeg)
    doc = {"ok": True, "out": str(out_), **image.as_dict()}
    if json_:
        print_json(doc)
        return
    for key, value in doc.items():
        if key != "ok":
            out.print(f"{key}: {value}")
