"""The document camera through the runtime, against the REAL sandbox platform process and
the emulated camera of the demo environment: a page is captured, kept in memory by ref,
sent with the case as a base64 JPEG (read back through the sandbox's admin API), and gone
once the session is wiped. Refusals reach the flow with the reasons it tells apart."""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from config.schema import Settings
from devices.base import DeviceState
from flows import events as ev
from kiosk.demo_env import DEFAULT_HOLDER, DemoEnvironment
from kiosk.runtime import Runtime
from sandbox.jpeg import jpeg_size


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnvironment]:
    with DemoEnvironment(tmp_path_factory.mktemp("demo")) as demo:
        demo.start()
        yield demo


class Answers:
    def __init__(self) -> None:
        self.q: queue.Queue[object] = queue.Queue()
        self.seen: list[object] = []

    def post(self, obj: object) -> None:
        self.q.put(obj)

    def result(self, request_id: int, timeout: float = 30.0) -> ev.Result:
        deadline = time.monotonic() + timeout
        while True:
            for obj in self.seen:
                if isinstance(obj, ev.Result) and obj.request_id == request_id:
                    return obj
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer to request {request_id}")
            try:
                self.seen.append(self.q.get(timeout=left))
            except queue.Empty:
                continue


def wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def rt(env: DemoEnvironment, tmp_path: Path) -> Iterator[tuple[Runtime, Answers]]:
    assert env.settings is not None
    data = env.settings.model_dump(mode="json")
    data["outbox"]["path"] = str(tmp_path / "outbox.sqlite3")
    data["outbox"]["key_file"] = str(tmp_path / "outbox.key")
    env.place_document()
    env.document_camera.clear_faults()
    answers = Answers()
    runtime = Runtime(Settings.model_validate(data), answers.post)
    runtime.start()
    try:
        wait(lambda: runtime.device_up()["document_camera"], 20, "the document camera")
        wait(lambda: runtime.online, 20, "the platform link")
        yield runtime, answers
    finally:
        runtime.stop()


_ids = iter(range(1000, 10**6))


def capture(runtime: Runtime, answers: Answers, code: str = "M01") -> ev.Result:
    effect = ev.CaptureDocument(request_id=next(_ids), material_code=code)
    runtime.carry_out(effect)
    return answers.result(effect.request_id)


def submit(runtime: Runtime, env: DemoEnvironment, refs: dict[str, str]) -> ev.SubmitCase:
    holder = next(h for h in env.holders() if h["name"] == DEFAULT_HOLDER)
    item = next(i for i in runtime.items() if i.flow == "yjs.newborn")
    session = f"test-{next(_ids)}"
    return ev.SubmitCase(
        request_id=next(_ids),
        idempotency_key=f"{session}:submit",
        item_code=item.code,
        session_id=session,
        applicant={"id_type": "resident", "id_number": holder["id_number"], "name": "x"},
        form={},
        materials=tuple(
            {
                "code": code,
                "source": "captured",
                "licence_id": None,
                "content_ref": ref,
                "commitment": False,
            }
            for code, ref in refs.items()
        ),
    )


def test_a_captured_page_reaches_the_platform_and_is_wiped_after_the_session(
    env: DemoEnvironment, rt: tuple[Runtime, Answers]
) -> None:
    runtime, answers = rt
    first = capture(runtime, answers, "M01")
    assert isinstance(first, ev.DocumentCaptured) and first.ref
    retaken = capture(runtime, answers, "M01")  # 重拍 replaces the first page
    assert isinstance(retaken, ev.DocumentCaptured) and retaken.ref != first.ref
    other = capture(runtime, answers, "M03")
    assert isinstance(other, ev.DocumentCaptured)
    assert len(runtime.pages) == 2 and runtime.captured_thumbnail(first.ref) is None
    thumb = runtime.captured_thumbnail(retaken.ref)
    assert thumb is not None and max(jpeg_size(thumb)) == 320
    page = runtime.pages.get(retaken.ref)
    assert page is not None
    sent = page.jpeg

    effect = submit(runtime, env, {"M01": retaken.ref, "M03": other.ref})
    runtime.carry_out(effect)
    done = answers.result(effect.request_id)
    assert isinstance(done, ev.CaseSubmitted) and done.case_number, done
    assert env.sandbox is not None
    case = next(c for c in env.sandbox.cases() if c["case_number"] == done.case_number)
    body = case["body"] if isinstance(case["body"], dict) else json.loads(case["body"])
    mats = {m["code"]: m for m in body["materials"]}
    got = base64.b64decode(mats["M01"]["content_b64"])
    assert got == sent  # the very JPEG the camera took, whole
    assert jpeg_size(got) == (page.width, page.height)
    decoded = cv2.imdecode(np.frombuffer(got, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decoded is not None and float(decoded.mean()) > 150  # a white page, not the mat
    assert "content_ref" not in mats["M01"]

    runtime.wipe()  # the session ends
    assert len(runtime.pages) == 0 and runtime.pages.total_bytes() == 0
    assert runtime.captured_thumbnail(retaken.ref) is None
    again = submit(runtime, env, {"M01": retaken.ref})
    runtime.carry_out(again)
    failed = answers.result(again.request_id)
    assert isinstance(failed, ev.EffectFailed) and failed.reason == "missing_page"


def test_refusals_reach_the_flow_with_their_reasons(
    env: DemoEnvironment, rt: tuple[Runtime, Answers]
) -> None:
    runtime, answers = rt
    env.remove_document()
    failed = capture(runtime, answers)
    assert isinstance(failed, ev.EffectFailed) and failed.reason == "no_document"
    env.place_document()
    env.document_fault("blur")
    failed = capture(runtime, answers)
    assert isinstance(failed, ev.EffectFailed) and failed.reason == "blurred"
    env.document_fault("blur", False)
    env.document_fault("dark")
    failed = capture(runtime, answers)
    assert isinstance(failed, ev.EffectFailed) and failed.reason == "too_dark"
    env.document_camera.clear_faults()
    assert len(runtime.pages) == 0

    env.unplug("document_camera")
    cam = runtime.devices["document_camera"]
    wait(lambda: cam.status.state is DeviceState.NO_DEVICE, 20, "the unplugged camera")
    failed = capture(runtime, answers)
    assert isinstance(failed, ev.EffectFailed) and failed.reason == "device"
    env.replug("document_camera")
    wait(lambda: runtime.device_up()["document_camera"], 20, "the camera back")
    assert isinstance(capture(runtime, answers), ev.DocumentCaptured)


def test_pages_over_the_case_budget_are_refused_at_capture(
    env: DemoEnvironment, rt: tuple[Runtime, Answers]
) -> None:
    runtime, answers = rt
    first = capture(runtime, answers, "M01")
    assert isinstance(first, ev.DocumentCaptured)
    page = runtime.pages.get(first.ref)
    assert page is not None
    runtime.pages.max_bytes = len(page.jpeg) + len(page.jpeg) // 2  # room for one page only
    refused = capture(runtime, answers, "M02")
    assert isinstance(refused, ev.EffectFailed) and refused.reason == "too_large"
    retaken = capture(runtime, answers, "M01")  # a retake replaces, so it still fits
    assert isinstance(retaken, ev.DocumentCaptured)


def test_a_capture_finishing_after_the_session_ended_is_dropped(
    env: DemoEnvironment, rt: tuple[Runtime, Answers]
) -> None:
    runtime, answers = rt
    gate = threading.Event()
    cam = runtime.devices["document_camera"]
    hold = cam.submit("hold", lambda _tok: gate.wait(30), timeout=40)  # the worker is busy
    effect = ev.CaptureDocument(request_id=next(_ids), material_code="M01")
    runtime.carry_out(effect)  # queued behind the hold
    runtime.wipe()  # the citizen left before the camera took the page
    gate.set()
    hold.wait(40)
    answer = answers.result(effect.request_id)
    assert isinstance(answer, ev.EffectFailed) and answer.reason == "cancelled"
    assert len(runtime.pages) == 0


def test_the_developer_panel_moves_the_page_and_unplugs_the_camera(
    qapp: Any, env: DemoEnvironment
) -> None:
    from PySide6.QtWidgets import QPushButton

    from kiosk.app.devpanel import DevPanel

    panel = DevPanel(env)
    try:
        buttons = {b.text(): b for b in panel.findChildren(QPushButton)}
        buttons["拿走材料 Remove page"].click()
        assert not env.document_camera.placed
        buttons["放材料 Place page"].click()
        assert env.document_camera.placed
        buttons["遮挡 Dark"].click()
        assert env.document_camera.faults == {"dark"}
        buttons["恢复正常 Normal"].click()
        assert env.document_camera.faults == frozenset()
        buttons["拔出 document_camera"].click()
        assert not env.document_camera.path.exists()
        buttons["插回 document_camera"].click()
        assert env.document_camera.path.exists()
    finally:
        env.replug("document_camera")
        panel.deleteLater()


def test_a_cancelled_capture_stops_the_camera_and_keeps_nothing(
    env: DemoEnvironment, rt: tuple[Runtime, Answers]
) -> None:
    runtime, answers = rt
    gate = threading.Event()
    cam = runtime.devices["document_camera"]
    hold = cam.submit("hold", lambda _tok: gate.wait(30), timeout=40)
    effect = ev.CaptureDocument(request_id=next(_ids), material_code="M01")
    runtime.carry_out(effect)
    runtime.carry_out(ev.CancelRequest(request_id=effect.request_id))  # the citizen went back
    gate.set()
    hold.wait(40)
    cam.submit("after", lambda _tok: None).wait(40)  # the capture's turn has come and gone
    assert len(runtime.pages) == 0
    while not answers.q.empty():
        answers.seen.append(answers.q.get_nowait())
    assert not [
        a for a in answers.seen if isinstance(a, ev.Result) and a.request_id == effect.request_id
    ]
