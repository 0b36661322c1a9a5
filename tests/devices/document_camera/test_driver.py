"""The document camera over its file emulator (real OpenCV reading real image files).

No camera is attached to this machine: the live ``camera://`` path is exercised for "not
there" only; everything else runs the real driver on the emulated platen.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from devices.base import Backoff, DeviceState
from devices.document_camera import quality
from devices.document_camera.driver import (
    BlurredError,
    DocumentCamera,
    DocumentCameraError,
    DocumentImage,
    ImageTooLargeError,
    NoDocumentError,
    TooDarkError,
)
from devices.document_camera.emulator import PlatenEmulator
from devices.document_camera.synthetic import render_page
from devices.errors import DeviceNotFoundError, Remediation
from devices.registry import build_device
from sandbox.jpeg import jpeg_size
from tests.devices.events import EventRecorder

QUICK = {"settle_s": 0.0, "drop_frames": 0, "burst": 3}


@pytest.fixture
def make() -> Iterator[Callable[..., DocumentCamera]]:
    made: list[DocumentCamera] = []

    def build(url: str, on_event: Any = None, **options: Any) -> DocumentCamera:
        cam = DocumentCamera(
            "document_camera",
            url,
            on_event,
            options={**QUICK, **options},
            backoff=Backoff(base=0.05, cap=0.1),
        )
        made.append(cam)
        return cam

    try:
        yield build
    finally:
        for cam in made:
            cam.stop()


@pytest.fixture
def platen(tmp_path: Path) -> Iterator[PlatenEmulator]:
    emu = PlatenEmulator(tmp_path / "platen.png")
    try:
        yield emu
    finally:
        emu.close()


def test_capture_gives_a_bounded_jpeg_of_the_page(
    make: Callable[..., DocumentCamera], platen: PlatenEmulator
) -> None:
    events = EventRecorder()
    cam = make(platen.url, events, max_edge=1000)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    image = cam.capture().wait(30)
    assert isinstance(image, DocumentImage)
    assert jpeg_size(image.jpeg) == (image.width, image.height)
    assert max(image.width, image.height) == 1000
    assert image.frames == 3
    # the picture is the page: decoded, it matches the sample scaled down
    decoded = np.asarray(
        cv2.imdecode(np.frombuffer(image.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE), np.uint8
    )
    page = cv2.cvtColor(render_page(platen.font), cv2.COLOR_BGR2GRAY)
    ref = cv2.resize(page, (image.width, image.height), interpolation=cv2.INTER_AREA)
    assert float(np.abs(decoded.astype(float) - ref.astype(float)).mean()) < 6.0
    assert "jpeg" not in repr(image) and "bytes" in image.as_dict()
    assert cam.status.detail["paper"] == "present"
    assert cam.status.detail["resolution"] == "1240x1754"
    assert cam.identity is not None and cam.identity.driver == "document_camera"


def test_the_sharpest_frame_of_the_burst_is_kept(
    make: Callable[..., DocumentCamera], tmp_path: Path
) -> None:
    page = render_page(None)
    frames = tmp_path / "burst"
    frames.mkdir()
    sharp = page
    cv2.imwrite(str(frames / "a.png"), cv2.GaussianBlur(page, (0, 0), 2.0))
    cv2.imwrite(str(frames / "b.png"), sharp)
    cv2.imwrite(str(frames / "c.png"), cv2.GaussianBlur(page, (0, 0), 1.5))
    expected = quality.measure(sharp).sharpness
    blurred = quality.measure(np.asarray(cv2.GaussianBlur(page, (0, 0), 2.0), np.uint8)).sharpness
    assert expected > 2 * blurred  # the test's premise
    cam = make(str(frames))
    image = cam.capture().wait(30)
    assert image.measures.sharpness == pytest.approx(expected, rel=1e-6)
    assert image.frames == 3


@pytest.mark.parametrize(
    ("lever", "error", "code"),
    [
        (lambda e: e.remove(), NoDocumentError, "no_document"),
        (lambda e: e.set_fault("dark"), TooDarkError, "too_dark"),
        (lambda e: e.set_fault("blur"), BlurredError, "blurred"),
    ],
)
def test_blank_dark_and_blurred_frames_are_refused_with_guidance(
    make: Callable[..., DocumentCamera],
    platen: PlatenEmulator,
    lever: Callable[[PlatenEmulator], None],
    error: type[Exception],
    code: str,
) -> None:
    events = EventRecorder()
    cam = make(platen.url, events)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    lever(platen)
    with pytest.raises(error) as info:
        cam.capture().wait(30)
    err = info.value
    d = err.as_dict()  # type: ignore[attr-defined]
    assert d["code"] == code and d["remediation"] == str(Remediation.CITIZEN)
    assert "请" in d["guidance"]["zh_CN"]
    # a refused picture leaves the device usable, and the page placed again is taken
    assert cam.status.state is DeviceState.ONLINE
    platen.clear_faults()
    platen.place()
    assert cam.capture().wait(30).width > 0


def test_a_removed_page_shows_as_paper_absent(
    make: Callable[..., DocumentCamera], platen: PlatenEmulator
) -> None:
    events = EventRecorder()
    cam = make(platen.url, events)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    mark = events.mark()
    platen.remove()
    events.wait_for(
        lambda e: getattr(getattr(e, "status", None), "detail", {}).get("paper") == "absent",
        mark,
        timeout=15,
    )


def test_unplug_and_replug_is_recovered(
    make: Callable[..., DocumentCamera], platen: PlatenEmulator
) -> None:
    events = EventRecorder()
    cam = make(platen.url, events)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    mark = events.mark()
    platen.unplug()  # the idle poll's next read fails
    events.wait_state(DeviceState.NO_DEVICE, mark, timeout=15)
    assert isinstance(cam.status.error, DeviceNotFoundError)
    with pytest.raises(DeviceNotFoundError):
        cam.capture().wait(30)
    mark = events.mark()
    platen.replug()
    events.wait_state(DeviceState.ONLINE, mark, timeout=15)
    assert cam.capture().wait(30).width > 0


def test_a_vanished_directory_mid_life_is_a_lost_device(
    make: Callable[..., DocumentCamera], tmp_path: Path
) -> None:
    frames = tmp_path / "cam"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), render_page(None))
    events = EventRecorder()
    cam = make(str(frames), events)
    cam.start()
    events.wait_state(DeviceState.ONLINE)
    shutil.move(frames, tmp_path / "away")
    events.wait_state(DeviceState.NO_DEVICE, timeout=15)


def test_a_page_that_cannot_fit_the_byte_cap_is_refused_not_truncated(
    make: Callable[..., DocumentCamera], tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    noisy = rng.integers(0, 256, (1754, 1240, 3), dtype=np.uint8)  # JPEG cannot squeeze noise
    path = tmp_path / "noise.png"
    cv2.imwrite(str(path), noisy)
    cam = make(str(path), max_bytes=10_000, min_sharpness=0, blank_contrast=0)
    with pytest.raises(ImageTooLargeError):
        cam.capture().wait(60)


def test_the_byte_cap_lowers_quality_before_refusing(
    make: Callable[..., DocumentCamera], platen: PlatenEmulator
) -> None:
    generous = make(platen.url, jpeg_quality=95).capture().wait(30)
    capped = make(platen.url, jpeg_quality=95, max_bytes=len(generous.jpeg) // 2)
    image = capped.capture().wait(30)
    assert len(image.jpeg) <= len(generous.jpeg) // 2
    jpeg_size(image.jpeg)


def test_a_missing_camera_fails_clearly(
    make: Callable[..., DocumentCamera], tmp_path: Path
) -> None:
    with pytest.raises(DeviceNotFoundError, match="no such file"):
        make(str(tmp_path / "nope.png")).capture().wait(20)
    with pytest.raises(DeviceNotFoundError):
        make("camera://57").capture().wait(30)


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(DocumentCameraError, match="bad document camera option"):
        DocumentCamera("d", "x.png", options={"burst": "many"})
    with pytest.raises(DocumentCameraError, match="jpeg_quality"):
        DocumentCamera("d", "x.png", options={"jpeg_quality": 0})


def test_the_registry_builds_it_by_driver_name(platen: PlatenEmulator) -> None:
    dev = build_device("document_camera", "document_camera", platen.url, options=QUICK)
    try:
        assert isinstance(dev, DocumentCamera)
        assert dev.capture().wait(30).width == 1240
    finally:
        dev.stop()
