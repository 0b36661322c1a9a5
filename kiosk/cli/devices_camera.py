"""Face-camera commands attached to ``kiosk devices`` (see kiosk.cli.devices).

* ``camera-check --url URL [--json] [--frames N] [--width W --height H --fps F]`` — open
  the camera, read a few frames, and print the resolution and frame rate it gave,
  exposure and focus, and whether a face is seen.
* ``liveness --source FILE|URL [--json] [--timeout S] [--seed N] [--no-mouth]`` — run one
  active-liveness attempt (guidance on stderr as it happens) and print
  ``{"live": bool, "challenges": [...], "reason": "...", ...}``. A recorded video cannot
  follow randomly ordered prompts, so a replay comes out not live: that is the point.

URLs: ``camera://N``, ``v4l2:///dev/videoN``, ``rtsp://…``, or a video/image file or a
directory of images (the emulator). No frame is written anywhere or printed.

Exit codes: 0 live / camera fine; 24 not live; 25 camera error (cannot open, no frames);
27 the face model is missing or altered (run scripts/setup.sh); 11 timeout; 2 bad usage.
"""

from __future__ import annotations

import random
from typing import Annotated, Any

import typer

from config import ExitCode
from devices.base import Backoff
from devices.errors import DeviceError, DeviceNotFoundError
from kiosk.cli.common import err, fail, out, print_json
from kiosk.cli.devices import app


def _camera(url: str, options: dict[str, Any], as_json: bool) -> Any:
    from devices.camera.driver import FaceCamera

    try:
        return FaceCamera("camera", url, options=options, backoff=Backoff(base=60.0, cap=60.0))
    except DeviceError as exc:
        fail(exc.reason, ExitCode.USAGE, as_json=as_json, error_code=exc.code)


def _fail_device(exc: DeviceError, as_json: bool) -> None:
    code = ExitCode.CAMERA_ERROR if isinstance(exc, DeviceNotFoundError) else exc.exit_code
    if exc.code == "face_model":
        code = ExitCode.FACE_MODEL_MISSING
    fail(exc.reason, code, as_json=as_json, error_code=exc.code)


@app.command("camera-check")
def camera_check(
    *,
    url: Annotated[str, typer.Option(help="camera://N, v4l2:///dev/videoN, rtsp://…, a file.")],
    frames: Annotated[int, typer.Option(help="Frames to look at.")] = 10,
    width: Annotated[int | None, typer.Option(help="Ask the camera for this width.")] = None,
    height: Annotated[int | None, typer.Option(help="Ask the camera for this height.")] = None,
    fps: Annotated[float | None, typer.Option(help="Ask the camera for this frame rate.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Resolution, frame rate, exposure, focus, and whether a face is seen."""
    if frames < 1:
        fail("--frames must be at least 1", ExitCode.USAGE, as_json=json_)
    options = {
        k: v for k, v in (("width", width), ("height", height), ("fps", fps)) if v is not None
    }
    cam = _camera(url, options, json_)
    try:
        result = cam.check(frames, timeout=30.0).wait(40.0)
    except DeviceError as exc:
        _fail_device(exc, json_)
    finally:
        cam.stop()
    doc = result.as_dict()
    if json_:
        print_json({"ok": True, **doc})
        return
    for key, value in doc.items():
        out.print(f"{key}: {value}")


@app.command("liveness")
def liveness(
    *,
    source: Annotated[str, typer.Option(help="Camera URL, or a video/image file to judge.")],
    timeout: Annotated[float, typer.Option(help="Seconds for the whole attempt.")] = 90.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed the challenge order (tests; default random).")
    ] = None,
    mouth: Annotated[bool, typer.Option(help="Allow the open-mouth challenge.")] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One active-liveness attempt: blink and head-turn challenges in random order."""
    if timeout <= 0:
        fail("--timeout must be positive", ExitCode.USAGE, as_json=json_)
    cam = _camera(source, {"allow_mouth": mouth}, json_)
    # a seed makes a run repeatable for tests; without one the machine uses SystemRandom
    rng = random.Random(seed) if seed is not None else None  # noqa: S311

    def guide(g: Any) -> None:
        if not json_:
            err.print(f"{g.text_zh}  ({g.text_en})")

    try:
        result = cam.liveness(guide, timeout=timeout, rng=rng).wait(timeout + 10)
    except DeviceError as exc:
        _fail_device(exc, json_)
    finally:
        cam.stop()
    doc = result.as_dict()
    if json_:
        print_json(doc)
    else:
        out.print(f"live: {doc['live']}  reason: {doc['reason']}")
        for c in doc["challenges"]:
            out.print(f"  {c['challenge']}: {'passed' if c['passed'] else 'failed'} {c['reasons']}")
    if not result.live:
        raise typer.Exit(int(ExitCode.NOT_LIVE))
