"""Camera decoding on generated frames: rotated, small, blurred, noisy, none; ROI; skipping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.base import DeviceState, StatusChanged
from devices.camera_codes.decode import (
    SYMBOLOGIES,
    ChainDecoder,
    FrameDecoder,
    PyzbarDecoder,
    Roi,
    ZxingDecoder,
    check_symbologies,
    make_decoder,
    to_gray,
)
from devices.camera_codes.emulator import FileCamera
from devices.camera_codes.reader import CameraCodeReader, codes_in_frame, decode_image_file
from devices.camera_codes.source import open_source
from devices.errors import DeviceNotFoundError, DeviceTimeoutError
from devices.scanner.classify import CodeKind
from devices.scanner.core import ScannerConfigError
from tests.devices.scanner.conftest import Recorder
from tests.devices.scanner.images import Hardness, frame_with_code

CASE = "JN2026112800001"

CASES = {
    "plain": Hardness(),
    "rotated_30": Hardness(angle=30),
    "rotated_75": Hardness(angle=75),
    "small_2px_modules": Hardness(box=2),
    "blurred": Hardness(blur=1.2),
    "noisy_cluttered": Hardness(noise=25, clutter=True),
    "low_contrast": Hardness(contrast=0.4, noise=10),
    "all_at_once": Hardness(box=3, angle=20, blur=1.0, noise=20, clutter=True),
}
#: Cases ZBar misses (measured; zxing-cpp reads them): why "zxing" is the default.
PYZBAR_MISSES = {"all_at_once"}


@pytest.fixture(scope="module", params=["zxing", "pyzbar", "both"])
def decoder(request: pytest.FixtureRequest) -> FrameDecoder:
    return make_decoder(request.param)


@pytest.mark.parametrize("case", list(CASES))
def test_hard_frames(decoder: FrameDecoder, case: str) -> None:
    frame = frame_with_code(CASE, CASES[case], seed=3)
    codes = codes_in_frame(frame, decoder)
    if decoder.name == "pyzbar" and case in PYZBAR_MISSES:
        assert codes == []
        return
    assert [c.text for c in codes] == [CASE]
    assert codes[0].symbology == "qrcode"
    assert codes[0].kind is CodeKind.RECEIPT and codes[0].ref == CASE


@pytest.mark.parametrize("seed", range(4))
def test_no_code_at_all(decoder: FrameDecoder, seed: int) -> None:
    frame = frame_with_code(None, Hardness(noise=30, clutter=True), seed=seed)
    assert codes_in_frame(frame, decoder) == []


def test_gb18030_qr_payload_keeps_its_bytes() -> None:
    text = "济南市历下区 全办"
    frame = frame_with_code(text.encode("gb18030"), Hardness())
    (code,) = codes_in_frame(frame, ZxingDecoder())
    assert code.payload.encoding == "gb18030" and code.text == text


def test_chain_falls_back_to_the_second_decoder() -> None:
    class Blind:
        name = "blind"

        def decode(self, gray: np.ndarray) -> list:  # type: ignore[type-arg]
            return []

    chain = ChainDecoder(Blind(), PyzbarDecoder())
    assert chain.name == "blind+pyzbar"
    assert [c.text for c in codes_in_frame(frame_with_code(CASE, Hardness()), chain)] == [CASE]


def test_roi_limits_where_codes_are_looked_for() -> None:
    frame = frame_with_code(CASE, Hardness(at=(0.25, 0.5)))
    dec = ZxingDecoder()
    assert codes_in_frame(frame, dec, roi=Roi(0.5, 0.0, 0.5, 1.0)) == []
    assert [c.text for c in codes_in_frame(frame, dec, roi=Roi(0.0, 0.0, 0.5, 1.0))] == [CASE]
    assert Roi.parse("0.1,0.2,0.5,0.5") == Roi(0.1, 0.2, 0.5, 0.5)
    for bad in ["1,2,3", "0.6,0,0.6,1", "-0.1,0,1,1", "0,0,0,1"]:
        with pytest.raises(ValueError):
            Roi.parse(bad)


def test_to_gray_accepts_bgr_bgra_and_gray() -> None:
    bgr = frame_with_code(CASE, Hardness())
    gray = to_gray(bgr)
    assert gray.shape == (480, 640) and gray.dtype == np.uint8
    bgra = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), dtype=np.uint8)
    assert np.array_equal(to_gray(bgra), gray)
    assert np.array_equal(to_gray(gray), gray)
    assert to_gray(bgr[:, ::2]).flags.c_contiguous  # strided views are made contiguous


@pytest.fixture
def image_dir(tmp_path: Path) -> Iterator[Path]:
    for i, data in enumerate([None, CASE, None, "https://www.jinan.gov.cn/"]):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), frame_with_code(data, Hardness(), seed=i))
    yield tmp_path


def test_image_file_helper(image_dir: Path) -> None:
    assert [c.text for c in decode_image_file(image_dir / "01.png", ZxingDecoder())] == [CASE]
    assert decode_image_file(image_dir / "00.png", ZxingDecoder()) == []
    with pytest.raises(DeviceNotFoundError, match="no such image"):
        decode_image_file(image_dir / "missing.png", ZxingDecoder())
    (image_dir / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DeviceNotFoundError, match="not an image"):
        decode_image_file(image_dir / "bad.png", ZxingDecoder())


def test_file_camera_plays_images_and_video(image_dir: Path, tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for i in range(6):
        writer.write(frame_with_code(CASE if i >= 3 else None, Hardness(), seed=i))
    writer.release()
    cam = FileCamera([image_dir / "01.png", video], loop=False, frames_per_image=2)
    frames = []
    while (f := cam.read()) is not None:
        frames.append(f)
    assert len(frames) == 2 + 6 and cam.ended
    found = [bool(codes_in_frame(f, ZxingDecoder())) for f in frames]
    assert found == [True, True, False, False, False, True, True, True]
    src = open_source(str(video))
    try:
        assert src.read() is not None
    finally:
        src.close()
    with pytest.raises(DeviceNotFoundError):
        open_source(str(tmp_path / "nothing.avi"))


def test_reader_device_skips_frames_and_suppresses_a_held_code(image_dir: Path) -> None:
    rec = Recorder()
    # One still image: the same code in every frame, as when a citizen holds it up.
    reader = CameraCodeReader(
        "cam",
        str(image_dir / "01.png"),
        rec,
        options={"every_nth": 3, "duplicate_window_ms": 60_000},
    )
    try:
        reader.start()
        scans = rec.wait_scans(1, timeout=10)
        while reader.frames < 12:
            time.sleep(0.01)
    finally:
        reader.stop()
    assert len(rec.scans()) == 1  # many frames, one event
    assert scans[0].code.text == CASE and scans[0].code.source == "camera"
    assert reader.decoded_frames == (reader.frames + 2) // 3  # frames 1, 4, 7, … decoded


def test_reader_read_code_and_end_of_video(image_dir: Path, tmp_path: Path) -> None:
    reader = CameraCodeReader("cam", str(image_dir / "01.png"), options={"every_nth": 1})
    try:
        code = reader.read_code(timeout=5).wait(7)
    finally:
        reader.stop()
    assert code.text == CASE and code.kind is CodeKind.RECEIPT
    video = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for i in range(3):
        writer.write(frame_with_code(None, Hardness(), seed=i))
    writer.release()
    reader = CameraCodeReader("cam", str(video), options={"every_nth": 1})
    try:
        with pytest.raises(DeviceTimeoutError, match="ended without a readable code"):
            reader.read_code(timeout=5).wait(7)
    finally:
        reader.stop()


def test_reader_for_a_missing_camera_is_no_device() -> None:
    rec = Recorder()
    reader = CameraCodeReader("cam", "/nonexistent/video.mp4", rec)
    try:
        reader.start()
        event = rec.wait_for(
            lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.NO_DEVICE
        )
    finally:
        reader.stop()
    assert "no such file" in event.status.error.reason


def test_symbologies_are_validated_and_narrow_the_search() -> None:
    assert check_symbologies(["all"]) == tuple(SYMBOLOGIES)
    with pytest.raises(ValueError, match="unknown symbology 'qr'"):
        check_symbologies(["qr"])
    with pytest.raises(ValueError, match="at least one"):
        check_symbologies([])
    with pytest.raises(ValueError, match="ZBar reads none of datamatrix"):
        make_decoder("pyzbar", ["datamatrix"])
    frame = frame_with_code(CASE, Hardness())
    for name in ("zxing", "pyzbar"):
        assert [c.text for c in codes_in_frame(frame, make_decoder(name, ["all"]))] == [CASE]
        assert codes_in_frame(frame, make_decoder(name, ["code128", "ean13"])) == []
    with pytest.raises(ScannerConfigError, match="unknown symbology"):
        CameraCodeReader("cam", "camera://0", options={"symbologies": "qrcode,bogus"})
