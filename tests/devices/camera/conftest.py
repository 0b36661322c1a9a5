"""Fixtures for the camera tests: the landmark model, one synthetic subject, and a maker of
camera devices that stops them all afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.base import Backoff
from devices.camera.driver import FaceCamera
from devices.camera.landmarks import FaceLandmarker
from devices.camera.synthetic import Renderer


@pytest.fixture(scope="session")
def renderer() -> Iterator[Renderer]:
    with FaceLandmarker() as lm:
        yield Renderer(seed=7, landmarker=lm)


@pytest.fixture
def landmarker() -> Iterator[FaceLandmarker]:
    with FaceLandmarker() as lm:
        yield lm


@pytest.fixture
def camera_factory() -> Iterator[Callable[..., FaceCamera]]:
    made: list[FaceCamera] = []

    def make(url: str, on_event: Any = None, **options: Any) -> FaceCamera:
        cam = FaceCamera(
            "camera", url, on_event, options=options, backoff=Backoff(base=0.05, cap=0.1)
        )
        made.append(cam)
        return cam

    try:
        yield make
    finally:
        for cam in made:
            cam.stop()
