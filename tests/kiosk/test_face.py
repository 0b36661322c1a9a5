"""kiosk.face: one capture on the camera device, then the sandbox platform's 1:1 match.

The camera is the real FaceCamera driver with a synthetic person in front of it (see
tests/devices/camera/test_driver.py); the platform is the real sandbox process.
"""

from __future__ import annotations

import queue
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import pytest

from devices.camera.driver import FaceCamera
from devices.camera.liveness import Guidance, LivenessMachine
from devices.camera.synthetic import Renderer
from flows import events as ev
from kiosk.face import FaceGuidance, capture_face
from offline.client import PlatformClient, RetryPolicy
from tests.devices.camera import people
from tests.devices.camera.test_driver import ReactiveCamera
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    from devices.camera.landmarks import FaceLandmarker

    with FaceLandmarker() as lm:
        yield Renderer(seed=3, landmarker=lm)


@pytest.fixture
def client(sandbox: SandboxProcess) -> Iterator[PlatformClient]:
    c = PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, retry=RetryPolicy(attempts=1))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    p = ThreadPoolExecutor(1)
    try:
        yield p
    finally:
        p.shutdown(wait=True)


class Seeded(ReactiveCamera):
    """The person hears the guidance the glue posts; seeded order so runs repeat."""

    def liveness(self, on_guidance: Any = None, **kw: Any) -> Any:
        kw.setdefault("rng", random.Random(9))

        def both(g: Guidance) -> None:
            self.heard(g)
            if on_guidance is not None:
                on_guidance(g)

        return super().liveness(both, **kw)


def _run(
    camera: FaceCamera | None,
    effect: ev.CaptureFace,
    client: PlatformClient,
    pool: ThreadPoolExecutor,
) -> tuple[ev.Result, list[object]]:
    posted: queue.Queue[object] = queue.Queue()
    answers: queue.Queue[ev.Result] = queue.Queue()
    capture_face(effect, camera, client=client, pool=pool, post=posted.put, answer=answers.put)
    answer = answers.get(timeout=120)
    return answer, list(posted.queue)


def _camera(renderer: Renderer, subject: people.Subject) -> Seeded:
    cam = Seeded("camera", "reactive", options={"allow_mouth": False})
    cam.subject = subject
    cam.start()
    return cam


def test_live_person_is_matched_by_the_platform(
    sandbox: SandboxProcess, renderer: Renderer, client: PlatformClient, pool: ThreadPoolExecutor
) -> None:
    holder = sandbox.holders()[0]
    cam = _camera(renderer, people.cooperative(renderer))
    try:
        effect = ev.CaptureFace(request_id=5, against="platform", id_number=holder["id_number"])
        answer, posted = _run(cam, effect, client, pool)
    finally:
        cam.stop()
    assert isinstance(answer, ev.FaceCaptured), answer
    assert answer.request_id == 5 and answer.live and answer.matched and answer.score >= 0.8
    guidance = [p for p in posted if isinstance(p, FaceGuidance)]
    assert guidance[-1].key == "passed"
    assert {"请眨眨眼", "请向左转头", "请向右转头"} <= {g.text_zh for g in guidance}


def test_platform_says_no_match(
    sandbox: SandboxProcess, renderer: Renderer, client: PlatformClient, pool: ThreadPoolExecutor
) -> None:
    holder = sandbox.holders()[1]
    sandbox.set_face_score(holder["holder_ref"], 0.2)
    cam = _camera(renderer, people.cooperative(renderer))
    try:
        effect = ev.CaptureFace(request_id=6, id_number=holder["id_number"])
        answer, _ = _run(cam, effect, client, pool)
    finally:
        cam.stop()
        sandbox.set_face_score(holder["holder_ref"], None)
    assert isinstance(answer, ev.FaceCaptured)
    assert answer.live and not answer.matched


def test_photo_is_not_live_and_nothing_is_sent(
    sandbox: SandboxProcess,
    renderer: Renderer,
    client: PlatformClient,
    pool: ThreadPoolExecutor,
    tmp_path: Path,
) -> None:
    video = tmp_path / "photo.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(45):  # 1.5 s of a photo held up: the gate passes, no challenge does
        writer.write(renderer.still())
    writer.release()
    cam = FaceCamera("camera", str(video), options={"allow_mouth": False})
    cam.start()
    try:
        effect = ev.CaptureFace(request_id=7, id_number=sandbox.holders()[0]["id_number"])
        answer, posted = _run(cam, effect, client, pool)
    finally:
        cam.stop()
    assert answer == ev.FaceCaptured(request_id=7, live=False)
    assert any(isinstance(p, FaceGuidance) and p.key == "failed" for p in posted)


def test_no_camera_or_no_identity_fail_at_once(
    renderer: Renderer, client: PlatformClient, pool: ThreadPoolExecutor
) -> None:
    effect = ev.CaptureFace(request_id=8, id_number="110101199003070012")
    answer, _ = _run(None, effect, client, pool)
    assert answer == ev.EffectFailed(request_id=8, effect="capture_face", reason="device")
    cam = _camera(renderer, people.still_photo(renderer))
    try:
        answer, _ = _run(cam, ev.CaptureFace(request_id=9, against="card_photo"), client, pool)
    finally:
        cam.stop()
    assert answer == ev.EffectFailed(request_id=9, effect="capture_face", reason="no_identity")


def test_machine_is_random_by_default() -> None:
    orders = {LivenessMachine().plan for _ in range(30)}
    assert len(orders) > 1
