"""The face camera device over the file emulator (real OpenCV reading real files).

No camera is attached to this machine, so the live ``camera://``/``v4l2://`` paths are
exercised only for "not there"; everything else runs the real driver on video and image
files made from the synthetic subject.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.base import DeviceState
from devices.camera.attempt import AttemptResult
from devices.camera.driver import CameraCheck, FaceCamera
from devices.camera.liveness import Challenge, Guidance, Phase, Thresholds
from devices.camera.synthetic import Bgr, Renderer
from devices.errors import DeviceNotFoundError
from devices.registry import build_device
from tests.devices.camera import people
from tests.devices.events import EventRecorder

QUICK = Thresholds(retries=0, window=2.0)


Events = EventRecorder


def _video(path: Path, frames: list[Bgr], fps: float = 30.0) -> Path:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    for f in frames:
        out.write(f)
    out.release()
    return path


def test_registry_builds_the_camera_for_the_configured_driver(tmp_path: Path) -> None:
    dev = build_device("camera", "camera", str(tmp_path / "x.png"))
    assert isinstance(dev, FaceCamera)


def test_check_on_an_image_sees_the_face_and_reports_emulated_status(
    renderer: Renderer, tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    img = tmp_path / "face.png"
    cv2.imwrite(str(img), renderer.still())
    cam = camera_factory(str(img))
    check: CameraCheck = cam.check(frames=3).wait(30)
    assert (check.width, check.height, check.frames) == (640, 480, 3)
    assert check.face_seen and check.faces == 1
    detail = cam.status.detail
    assert detail["resolution"] == "640x480"
    assert detail["exposure"] == "n/a" and detail["focus"] == "n/a"
    assert detail["emulated"] == "yes"


def test_check_on_a_blank_picture_sees_no_face(
    tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    img = tmp_path / "wall.png"
    cv2.imwrite(str(img), np.full((480, 640, 3), 128, np.uint8))
    check = camera_factory(str(img)).check(frames=2).wait(30)
    assert not check.face_seen and check.faces == 0


def test_a_recorded_still_video_is_not_live_and_frames_are_timed_by_the_file(
    renderer: Renderer, tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    video = _video(tmp_path / "still.avi", [renderer.still() for _ in range(150)], fps=30)
    cam = camera_factory(str(video))
    shown: list[Guidance] = []
    result: AttemptResult = cam.liveness(shown.append, rng=random.Random(2), thresholds=QUICK).wait(
        60
    )
    assert not result.live
    # 150 frames at 30 fps = 5 s of video: the gate passes, a prompt is given and missed
    assert result.reason.endswith(":timeout") or result.reason == "video_ended"
    assert any(g.phase is Phase.PROMPT for g in shown)
    assert result.best is None
    assert cam.status.detail["fps"] == "30"


def test_a_video_that_ends_before_a_decision_is_not_live(
    renderer: Renderer, tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    video = _video(tmp_path / "short.avi", [renderer.still() for _ in range(20)])
    result = camera_factory(str(video)).liveness(rng=random.Random(1)).wait(60)
    assert not result.live and result.reason == "video_ended"


class ReactiveCamera(FaceCamera):
    """The device with a synthetic person in front of it who follows the prompts (the
    guidance callback tells it, on the worker, what was asked)."""

    subject: people.Subject

    def _open(self) -> None:
        self._prompt: Challenge | None = None
        self._prompt_t: float | None = None
        self._t = 0.0
        self.log = people.Log()

    def _close(self) -> None:
        pass

    def heard(self, g: Guidance) -> None:
        if g.phase is Phase.PROMPT:
            self._prompt = Challenge(g.key)
            self._prompt_t = self._t

    def _read(self) -> tuple[Bgr, float] | None:
        self._t += 1 / 30
        dt = None if self._prompt_t is None else self._t - self._prompt_t
        return self.subject(self._prompt, dt, self._t, self.log), self._t


def test_a_cooperative_person_passes_through_the_device_with_guidance_on_the_worker(
    renderer: Renderer,
) -> None:
    cam = ReactiveCamera("camera", "reactive", options={"allow_mouth": False})
    cam.subject = people.cooperative(renderer)
    threads: set[str] = set()

    def heard(g: Guidance) -> None:
        threads.add(threading.current_thread().name)
        cam.heard(g)

    try:
        result = cam.liveness(heard, rng=random.Random(4)).wait(120)
    finally:
        cam.stop()
    assert result.live, result.as_dict()
    assert result.best is not None and result.best.jpeg()[:2] == b"\xff\xd8"
    assert threads == {"device-camera"}


def test_unplug_and_replug_is_recovered(
    renderer: Renderer, tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    frames = tmp_path / "cam"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), renderer.still())
    events = Events()
    cam = camera_factory(str(frames), events)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    away = tmp_path / "away"
    shutil.move(frames, away)  # the camera goes away: reading the next frame fails
    events.wait_state(DeviceState.NO_DEVICE)
    assert isinstance(cam.status.error, DeviceNotFoundError)
    events.clear()
    shutil.move(away, frames)
    events.wait_state(DeviceState.ONLINE)
    check = cam.check(frames=1).wait(30)
    assert check.face_seen


def test_a_missing_camera_is_no_device_and_commands_fail_clearly(
    camera_factory: Callable[..., FaceCamera], tmp_path: Path
) -> None:
    events = Events()
    cam = camera_factory(str(tmp_path / "nope.avi"), events)
    cam.start()
    events.wait_state(DeviceState.NO_DEVICE)
    with pytest.raises(DeviceNotFoundError, match="no such camera"):
        cam.check().wait(10)
    # a V4L2 index with nothing behind it
    cam2 = camera_factory("camera://57", events)
    with pytest.raises(DeviceNotFoundError):
        cam2.check().wait(20)


def test_bad_options_are_configuration_errors() -> None:
    from devices.camera.driver import CameraError

    with pytest.raises(CameraError, match="bad camera option"):
        FaceCamera("camera", "x.png", options={"width": "wide"})


def test_the_worker_keeps_polling_without_the_model(
    renderer: Renderer, tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    img = tmp_path / "face.png"
    cv2.imwrite(str(img), renderer.still())
    cam = camera_factory(str(img))
    cam.start()
    deadline = time.monotonic() + 10
    while cam.frames == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cam.frames > 0  # idle frames are read on the worker
    assert cam._landmarker is None  # and the model is not loaded until it is needed
