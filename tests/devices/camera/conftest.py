"""Fixtures for the real-model camera tests: the landmark model and one synthetic subject."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
