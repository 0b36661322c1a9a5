"""The kiosk camera as a WebRTC track (kiosk/remote/camera_track.py): frames from the camera
device's tap, scaled to the call's size, timestamps on the fps grid, the "no camera" card
when there is no device or it gives nothing, and no frame kept once sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from devices.base import Backoff, DeviceState
from devices.camera.driver import IDLE_POLL_S, FaceCamera
from devices.camera.tap import FrameTap
from kiosk.remote.camera_track import BARS, CameraTrack, device_camera
from kiosk.remote.media_config import MediaConfig

SMALL = MediaConfig(width=320, height=240, fps=15)
RED_BGR = (30, 30, 220)


def rgb_at(frame: VideoFrame, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(c) for c in frame.to_ndarray(format="rgb24")[y, x])


def close_to(got: tuple[int, ...], want: tuple[int, ...], tol: int = 24) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


def recv_n(track: CameraTrack, n: int) -> list[VideoFrame]:
    async def run() -> list[VideoFrame]:
        return [await track.recv() for _ in range(n)]

    return asyncio.run(run())


def test_camera_frames_are_scaled_stamped_on_the_fps_grid_and_not_kept() -> None:
    tap = FrameTap(15)
    sent: list[VideoFrame] = []
    track = CameraTrack(SMALL, tap, on_sent=sent.append, stale_s=30)

    async def run() -> list[VideoFrame]:
        async def camera() -> None:  # the device's worker, at its own pace
            for _ in range(5):
                tap.put(np.full((480, 640, 3), RED_BGR, np.uint8))
                await asyncio.sleep(0.03)

        feeder = asyncio.ensure_future(camera())
        frames = [await track.recv() for _ in range(4)]
        await feeder
        return frames

    frames = asyncio.run(run())
    assert sent == frames  # the preview sees exactly what is sent
    assert track.camera_frames == 4 and track.card_frames == 0
    for f in frames:
        assert (f.width, f.height, f.format.name) == (320, 240, "yuv420p")
        assert close_to(rgb_at(f, 160, 120), (220, 30, 30))
        assert f.pts is not None and f.pts % 6000 == 0  # 90 kHz / 15 fps
    pts = [f.pts or 0 for f in frames]
    assert pts == sorted(set(pts)), pts  # strictly increasing, never repeated
    # nothing of the citizen stays behind: the tap is empty, the track holds no frame
    assert tap.take() is None
    assert not [v for v in vars(track).values() if isinstance(v, VideoFrame)]
    arrays = [v for k, v in vars(track).items() if isinstance(v, np.ndarray) and k != "_card"]
    assert not arrays


def test_without_a_camera_the_track_sends_the_no_camera_card() -> None:
    track = CameraTrack(SMALL, None)
    (frame,) = recv_n(track, 1)
    assert track.card_frames == 1
    assert (frame.width, frame.height) == (320, 240)
    assert close_to(rgb_at(frame, 10, 20), BARS[0])  # the first bar, top left
    assert close_to(rgb_at(frame, 315, 20), BARS[-1])  # the last bar
    assert close_to(rgb_at(frame, 160, 120), (16, 16, 16))  # the dark band


def test_a_camera_that_stops_giving_frames_is_replaced_by_the_card() -> None:
    tap = FrameTap(15)
    track = CameraTrack(SMALL, tap, stale_s=0.2)
    tap.put(np.full((480, 640, 3), RED_BGR, np.uint8))
    live, *later = recv_n(track, 4)
    assert close_to(rgb_at(live, 160, 120), (220, 30, 30))
    assert track.camera_frames == 1 and track.card_frames == 3
    assert close_to(rgb_at(later[-1], 160, 120), (16, 16, 16))


def test_stop_releases_the_source_once_and_ends_the_track() -> None:
    released: list[int] = []
    track = CameraTrack(SMALL, FrameTap(15), release=lambda: released.append(1))
    track.stop()
    track.stop()
    assert released == [1]
    with pytest.raises(MediaStreamError):
        recv_n(track, 1)


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[FaceCamera]:
    img = tmp_path / "red.png"
    cv2.imwrite(str(img), np.full((480, 640, 3), RED_BGR, np.uint8))
    cam = FaceCamera("camera", str(img), backoff=Backoff(base=0.05, cap=0.1))
    cam.start()
    try:
        yield cam
    finally:
        cam.stop()


def test_the_track_on_the_camera_device_sends_its_frames_and_lets_it_go(
    camera: FaceCamera,
) -> None:
    deadline = time.monotonic() + 20
    while camera.status.state != DeviceState.ONLINE:
        assert time.monotonic() < deadline, "the camera did not come up"
        time.sleep(0.01)
    track = device_camera(SMALL, camera)
    assert camera.poll_interval == 1 / SMALL.fps  # the device reads at the call's rate
    frames = recv_n(track, 6)
    assert track.camera_frames >= 5  # the first may be waited for, never the card
    assert close_to(rgb_at(frames[-1], 160, 120), (220, 30, 30))
    track.stop()
    assert camera.poll_interval == IDLE_POLL_S


def test_no_camera_device_means_the_card() -> None:
    track = device_camera(SMALL, None)
    assert track.source is None
    recv_n(track, 1)
    assert track.card_frames == 1
