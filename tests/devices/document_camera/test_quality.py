"""The frame checks and the encoder on arbitrary frames (what a camera may hand over)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from devices.document_camera import quality
from devices.document_camera.synthetic import empty_platen, render_page
from sandbox.jpeg import jpeg_size

_frames = st.tuples(
    st.integers(1, 64), st.integers(1, 64), st.sampled_from([None, 1, 3, 4])
).flatmap(
    lambda s: arrays(
        np.uint8, (s[0], s[1]) if s[2] is None else (s[0], s[1], s[2]), elements=st.integers(0, 255)
    )
)


@settings(max_examples=200, deadline=None)
@given(_frames)
def test_measures_are_finite_and_the_verdict_is_known(frame: np.ndarray) -> None:
    if frame.ndim == 3 and frame.shape[2] != 3:
        frame = np.ascontiguousarray(frame[:, :, :1].repeat(3, axis=2))
    m = quality.measure(frame)
    assert all(math.isfinite(v) for v in (m.brightness, m.contrast, m.sharpness))
    assert 0 <= m.brightness <= 255 and m.contrast >= 0 and m.sharpness >= 0
    assert quality.verdict(m, quality.Thresholds()) in (None, "too_dark", "no_document", "blurred")


@settings(max_examples=100, deadline=None)
@given(_frames, st.integers(1, 100), st.integers(1, 4000))
def test_the_encoder_gives_a_bounded_jpeg_or_nothing(
    frame: np.ndarray, q: int, max_bytes: int
) -> None:
    if frame.ndim == 3 and frame.shape[2] != 3:
        frame = np.ascontiguousarray(frame[:, :, :1].repeat(3, axis=2))
    got = quality.encode_jpeg(frame, quality=q, max_edge=2000, max_bytes=max_bytes)
    if got is not None:
        data, w, h = got
        assert len(data) <= max_bytes and jpeg_size(data) == (w, h)


def test_the_sample_page_passes_and_its_faults_do_not() -> None:
    page = render_page(None)
    t = quality.Thresholds()
    assert quality.verdict(quality.measure(page), t) is None
    assert quality.verdict(quality.measure(empty_platen()), t) == "no_document"
    blurred = np.asarray(cv2.GaussianBlur(page, (0, 0), 9), np.uint8)
    assert quality.verdict(quality.measure(blurred), t) == "blurred"
    dark = np.asarray(page * 0.08, np.uint8)
    assert quality.verdict(quality.measure(dark), t) == "too_dark"
    # a shrink keeps the aspect ratio and never grows a small frame
    assert quality.fit_edge(page, 500).shape[:2] == (500, round(1240 * 500 / 1754))
    assert quality.fit_edge(page, 5000) is page
