"""Frame taps on the face camera (devices/camera/tap.py): another part of the kiosk sees the
frames the device reads, at the rate it asks for, without opening the camera again."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from devices.base import DeviceState
from devices.camera.driver import IDLE_POLL_S, FaceCamera
from devices.camera.tap import FrameTap

RED_BGR = (30, 30, 220)


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def solid(path: Path, bgr: tuple[int, int, int]) -> Path:
    cv2.imwrite(str(path), np.full((480, 640, 3), bgr, np.uint8))
    return path


def test_the_tap_keeps_the_newest_frame_and_hands_it_over_once() -> None:
    tap = FrameTap(15)
    assert tap.take() is None and tap.last_frame_at == 0.0
    first, second = np.zeros((2, 2, 3), np.uint8), np.ones((2, 2, 3), np.uint8)
    tap.put(first)
    tap.put(second)  # replaces the unread first frame
    assert tap.frames_dropped == 1 and tap.last_frame_at > 0
    assert tap.take() is second
    assert tap.take() is None  # forgotten once taken
    tap.put(first)
    tap.close()  # a closed tap holds nothing and takes nothing more
    assert tap.take() is None
    tap.put(second)
    assert tap.take() is None and tap.frames_put == 3


def test_an_open_tap_gets_the_devices_frames_at_its_rate_and_closing_restores_idle(
    tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    cam = camera_factory(str(solid(tmp_path / "red.png", RED_BGR)))
    cam.start()
    wait_for(lambda: cam.status.state == DeviceState.ONLINE, 20, "the camera")
    assert cam.poll_interval == IDLE_POLL_S
    read_before = cam.frames
    tap = cam.open_tap(20)
    assert cam.poll_interval == 1 / 20
    wait_for(lambda: tap.frames_put >= 10, 20, "ten frames through the tap")
    frame = tap.take()
    assert frame is not None and frame.shape == (480, 640, 3)
    assert tuple(int(c) for c in frame[240, 320]) == RED_BGR
    # the frames came from the device's own reads, not from a second capture
    assert cam.frames - read_before >= tap.frames_put
    cam.close_tap(tap)
    assert tap.closed and tap.take() is None
    assert cam.poll_interval == IDLE_POLL_S


def test_two_taps_share_the_reads_and_the_fastest_sets_the_rate(
    tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    cam = camera_factory(str(solid(tmp_path / "grey.png", (90, 90, 90))))
    slow, fast = cam.open_tap(5), cam.open_tap(25)
    assert cam.poll_interval == 1 / 25
    cam.start()
    wait_for(lambda: slow.frames_put >= 3 and fast.frames_put >= 3, 20, "frames in both taps")
    cam.close_tap(fast)
    assert cam.poll_interval == 1 / 5
    cam.close_tap(slow)
    assert cam.poll_interval == IDLE_POLL_S


def test_a_recorded_video_is_not_read_for_a_tap_while_idle_but_a_commands_frames_reach_it(
    tmp_path: Path, camera_factory: Callable[..., FaceCamera]
) -> None:
    video = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(6):
        out.write(np.full((480, 640, 3), RED_BGR, np.uint8))
    out.release()
    cam = camera_factory(str(video))
    tap = cam.open_tap(30)
    cam.start()
    wait_for(lambda: cam.status.state == DeviceState.ONLINE, 20, "the camera")
    check = cam.check(frames=4).wait(60)  # the idle polls before it read nothing
    assert check.frames == 4
    assert tap.frames_put == 4  # every frame the check read, and only those
    frame = tap.take()
    assert frame is not None and frame.shape == (480, 640, 3)
    cam.close_tap(tap)
