"""The kiosk app end to end: offscreen Qt, the REAL sandbox platform process, emulated
devices over their real protocols (SAM frames over sim://, ESC/POS over TCP, a serial
scanner), the real outbox. A citizen is played by kiosk.app.tour.GuiDriver, which taps the
on-screen buttons and places the card on the emulated reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from config.schema import Settings
from devices.idcard.emulator import Fault
from flows import events as ev
from kiosk.app.shell import KioskController
from kiosk.app.tour import DriveError, GuiDriver, pump, wait_until
from kiosk.app.tts import RecordingSpeaker
from kiosk.demo_env import DEFAULT_HOLDER, DemoEnvironment
from kiosk.runtime import Runtime


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnvironment]:
    with DemoEnvironment(tmp_path_factory.mktemp("demo")) as demo:
        demo.start()
        yield demo


@pytest.fixture
def settings(env: DemoEnvironment, tmp_path: Path) -> Settings:
    """Fresh outbox per test; short idle timeouts so the timeout test is quick."""
    assert env.sandbox is not None
    assert env.settings is not None
    data = env.settings.model_dump(mode="json")
    data["outbox"]["path"] = str(tmp_path / "outbox.sqlite3")
    data["outbox"]["key_file"] = str(tmp_path / "outbox.key")
    data["outbox"]["retry_base_s"] = 0.2
    data["outbox"]["retry_cap_s"] = 1.0
    return Settings.model_validate(data)


def started(settings: Settings, env: DemoEnvironment, **kw: Any) -> KioskController:
    """A running app whose link and devices are up (the emulators reset to normal)."""
    env.restore_network()
    env.printer.clear_faults()
    env.lift_card()
    kw.setdefault("speaker", RecordingSpeaker())
    c = KioskController(lambda post: Runtime(settings, post), **kw)
    c.start()
    wait_until(lambda: c.booted, 20, "the runtime")
    wait_until(lambda: c.runtime.online, 20, "the platform link")
    roles = ("idcard", "scanner", "receipt_printer", "a4_printer")
    wait_until(lambda: all(c.runtime.device_up()[r] for r in roles), 20, "the devices")
    return c


@pytest.fixture
def controller(
    qapp: QApplication, settings: Settings, env: DemoEnvironment
) -> Iterator[KioskController]:
    c = started(settings, env)
    try:
        yield c
    finally:
        c.stop()


def item_code(c: KioskController, flow: str) -> str:
    return next(i.code for i in c.runtime.items() if i.flow == flow)


def holder(env: DemoEnvironment) -> dict[str, str]:
    return next(h for h in env.holders() if h["name"] == DEFAULT_HOLDER)


def jobs_with(env: DemoEnvironment, text: str) -> list[dict[str, Any]]:
    found = []
    for path in env.printed_jobs():
        job = json.loads(path.read_text(encoding="utf-8"))
        if any(text in line for line in job.get("text_lines", [])) or text in json.dumps(
            job, ensure_ascii=False
        ):
            found.append(job)
    return found


def test_one_thing_bundle_end_to_end(controller: KioskController, env: DemoEnvironment) -> None:
    before = env.stats()
    walk = GuiDriver(controller, env).run(item_code(controller, "yjs.newborn"))
    assert walk.ended == "finished", walk.screens
    for step in ("identify", "consent", "form", "materials", "review", "evaluate", "finish"):
        assert any(s.startswith(step) for s in walk.screens), (step, walk.screens)
    wait_until(lambda: env.stats()["cases"] == before["cases"] + 1, 20, "the case on the platform")
    case = env.sandbox.cases()[-1] if env.sandbox else {}
    assert case["item_code"] == item_code(controller, "yjs.newborn")
    # the receipt carries the platform's case number and a QR code to look it up
    jobs = jobs_with(env, str(case["case_number"]))
    assert jobs, "no receipt with the case number was printed"
    assert any(str(case["case_number"]) in q for q in jobs[-1]["qr_payloads"])
    # the 好差评 evaluation reaches the platform through the outbox
    wait_until(
        lambda: env.stats()["evaluations"] == before["evaluations"] + 1, 20, "the evaluation"
    )


def test_tax_station_item(controller: KioskController, env: DemoEnvironment) -> None:
    before = env.stats()["cases"]
    walk = GuiDriver(controller, env).run(item_code(controller, "tax.insurance_payment"))
    assert walk.ended == "finished", walk.screens
    wait_until(lambda: env.stats()["cases"] == before + 1, 20, "the tax case")


def test_idle_timeout_wipes_every_widget(
    qapp: QApplication, settings: Settings, env: DemoEnvironment
) -> None:
    data = settings.model_dump(mode="json")
    data["session"] = {"idle_timeout_s": 3.0, "idle_warning_s": 1.5}
    c = started(Settings.model_validate(data), env, tick_ms=100)
    try:
        who = holder(env)
        # identify with the card, then walk away on the form
        GuiDriver(c, env).run(item_code(c, "yjs.newborn"), stop_at=lambda v: v.step_type == "form")
        assert any(who["name"] in t for t in c.widget_texts()), "the form shows the name"
        wait_until(
            lambda: c.current_view is not None and c.current_view.countdown.state == "warning",
            10,
            "the idle warning",
        )
        pump(0.05)  # widgets added to a shown window are shown by the event loop
        assert c.step.buttons["continue_banner"].isVisible()
        ended: list[str] = []
        c.session_ended.connect(ended.append)
        wait_until(lambda: ended == ["timeout"], 10, "the idle timeout")
        texts = c.widget_texts()
        assert not any(who["name"] in t or who["id_number"] in t for t in texts)
        assert not any(who["id_number"][-4:] in t for t in texts if "*" in t)
        assert c.engine.session is None and c.current_view is None
        assert c.step.view is None
        assert all(not label.text() for label in c.step.findChildren(QLabel))
        pump(0.05)
        # and the widgets themselves are gone (only the empty, hidden guidance line stays)
        assert [lbl for lbl in c.step.findChildren(QLabel) if lbl is not c.step.guidance] == []
        assert c.window.stack.currentWidget() is c.home
    finally:
        c.stop()


def test_continue_button_keeps_the_session(
    qapp: QApplication, settings: Settings, env: DemoEnvironment
) -> None:
    data = settings.model_dump(mode="json")
    data["session"] = {"idle_timeout_s": 3.0, "idle_warning_s": 1.5}
    c = started(Settings.model_validate(data), env, tick_ms=100)
    try:
        c.home.item_buttons[item_code(c, "yjs.newborn")].click()
        wait_until(
            lambda: c.current_view is not None and c.current_view.countdown.state == "warning",
            10,
            "the idle warning",
        )
        c.step.buttons["continue_banner"].click()
        assert c.current_view is not None and c.current_view.countdown.state == "running"
        assert c.engine.session is not None
    finally:
        c.stop()


def test_elder_mode(controller: KioskController) -> None:
    c = controller
    normal_timeout = c.engine.default_idle.timeout_s
    normal_px = c.theme.font_px
    c.home.elder_button.click()
    assert c.theme.name == "elder"
    assert c.theme.font_px >= 1.5 * normal_px
    assert f"font-size: {c.theme.font_px}px" in c.window.styleSheet()
    assert c.engine.default_idle.timeout_s > normal_timeout
    assert isinstance(c.speaker, RecordingSpeaker) and c.speaker.said  # voice prompt given
    # fewer, bigger services per row
    assert c.home.columns == 2
    c.home.language_button.click()
    assert c.language == "en" and "Welcome" in c.home.title.text()
    c.home.elder_button.click()
    assert c.theme.name == "normal"


def test_out_of_service_and_back(controller: KioskController, env: DemoEnvironment) -> None:
    c = controller
    env.cut_network()
    for role in ("idcard", "scanner", "receipt_printer"):
        env.unplug(role)
    try:
        wait_until(lambda: c.window.stack.currentWidget() is c.out_of_service, 30, "out of service")
        assert "暂停服务" in c.out_of_service.label.text()
    finally:
        for role in ("idcard", "scanner", "receipt_printer"):
            env.replug(role)
        env.restore_network()
    wait_until(lambda: c.window.stack.currentWidget() is c.home, 30, "the home screen again")


def test_paper_out_disables_only_flows_that_print(
    controller: KioskController, env: DemoEnvironment
) -> None:
    c = controller
    env.printer_fault("paper_out")
    try:
        wait_until(c.window.fault_banner.isVisible, 20, "the fault banner")
        assert "缺纸" in c.window.fault_banner.text()
        avail = {a.item_code: a for a in c.runtime.availability()}
        printing = avail[item_code(c, "queue.ticket")]
        assert not printing.available and "device_down:receipt_printer" in printing.reasons
        # services that print on the A4 printer are still offered
        assert avail[item_code(c, "cert.print")].available
    finally:
        env.printer.clear_faults()
    wait_until(lambda: not c.window.fault_banner.isVisible(), 20, "the printer recovering")


def test_offline_submission_is_queued_then_delivered(
    controller: KioskController, env: DemoEnvironment
) -> None:
    c = controller
    before = env.stats()["cases"]
    env.cut_network()
    wait_until(lambda: not c.runtime.online, 20, "the offline state")
    wait_until(c.window.offline_banner.isVisible, 5, "the offline banner")
    assert "网络中断" in c.window.offline_banner.text()
    # 住房公积金异地转移接续 (跨域通办): needs no platform data, so it is taken offline
    walk = GuiDriver(c, env).run("KY-0003")
    assert walk.ended == "finished", walk.screens
    assert c.runtime.outbox.counts().get("pending", 0) >= 1
    assert env.stats()["cases"] == before
    env.restore_network()
    wait_until(lambda: env.stats()["cases"] == before + 1, 30, "delivery after the link returns")
    wait_until(lambda: not c.window.offline_banner.isVisible(), 10, "the banner going away")


def test_stalled_device_does_not_freeze_the_ui(
    controller: KioskController, env: DemoEnvironment
) -> None:
    c = controller
    env.reader.set_fault(Fault.STALL)
    try:
        GuiDriver(c, env).run(
            item_code(c, "yjs.newborn"),
            stop_at=lambda v: v.step_type == "identify" and v.phase == "waiting_card",
        )
        env.place_card()  # the reader now stalls on every reply
        pump(1.0)
        # the GUI thread is free: a tap is handled at once and the session ends
        ended: list[str] = []
        c.session_ended.connect(ended.append)
        c.step.buttons["cancel"].click()
        assert ended == ["cancelled"]
        assert c.window.stack.currentWidget() is c.home
    finally:
        env.reader.set_fault(Fault.STALL, on=False)


def test_window_terminal_mode_mirrors_and_takes_the_evaluation(
    qapp: QApplication, settings: Settings, env: DemoEnvironment
) -> None:
    c = started(settings, env, mode="window")
    try:
        assert c.citizen is not None and c.citizen.isVisible()
        seen: list[str] = []

        def at_evaluate(view: object) -> bool:
            assert c.citizen is not None
            seen.append(c.citizen.step.view.step_type if c.citizen.step.view else "-")
            return getattr(view, "step_type", "") == "evaluate"

        GuiDriver(c, env).run(item_code(c, "tax.insurance_payment"), stop_at=at_evaluate)
        assert "review" in seen  # the citizen saw what was being submitted
        # the clerk's screen is not where the citizen rates: tap on the citizen's screen
        rate = c.citizen.step.choice_buttons[("rate", "5")]
        assert rate.isEnabled()
        assert not c.step.choice_buttons[("rate", "5")].isEnabled()  # not on the clerk's
        rate.click()
        c.citizen.step.buttons["submit"].click()
        wait_until(
            lambda: c.current_view is not None and c.current_view.step_type == "finish",
            10,
            "the finish screen",
        )
        c.feed(ev.Press("done"))
        assert c.citizen.step.view is None  # wiped on the citizen's screen too
    finally:
        c.stop()


def test_driver_refuses_a_service_not_offered(
    controller: KioskController, env: DemoEnvironment
) -> None:
    with pytest.raises(DriveError, match="not offered"):
        GuiDriver(controller, env).run("NO-SUCH-ITEM")


def pdf_text(path: Path) -> str:
    import subprocess

    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_certificate_print_on_a4(controller: KioskController, env: DemoEnvironment) -> None:
    before = sorted(env.a4_dir.glob("job-*.pdf"))
    walk = GuiDriver(controller, env).run("ZZ-0001")  # 社保参保证明打印
    assert walk.ended == "finished", walk.screens
    assert any(s.startswith("print") for s in walk.screens)
    jobs = sorted(env.a4_dir.glob("job-*.pdf"))
    assert len(jobs) == len(before) + 1
    text = pdf_text(jobs[-1])
    assert "社会保险参保缴费证明" in text
    assert holder(env)["name"] in text


def test_e_licence_print_on_a4(controller: KioskController, env: DemoEnvironment) -> None:
    before = sorted(env.a4_dir.glob("job-*.pdf"))
    walk = GuiDriver(controller, env).run("ZZ-0004")  # 电子证照打印
    assert walk.ended == "finished", walk.screens
    jobs = sorted(env.a4_dir.glob("job-*.pdf"))
    assert len(jobs) == len(before) + 1
    text = pdf_text(jobs[-1])
    assert holder(env)["name"] in text and "证照编号" in text


def test_identify_by_lutong_code(controller: KioskController, env: DemoEnvironment) -> None:
    """亮码办事: the citizen shows a 鲁通码 to the scanner; the platform verifies it and,
    after consent, supplies the citizen's data (the form fills itself)."""
    before = env.stats()["cases"]
    seen: list[str] = []

    def on_view(view: object) -> None:
        seen.extend(f.display or "" for f in getattr(view, "fields", ()) if f.source == "identity")

    walk = GuiDriver(controller, env, on_view=on_view).run(
        item_code(controller, "tax.insurance_payment"), identify="lutong_code"
    )
    assert walk.ended == "finished", walk.screens
    assert "identify:waiting_code" in walk.screens
    first = env.holders()[0]  # DemoEnvironment.issue_lutong_code issues the first holder's
    assert first["name"] in seen
    wait_until(lambda: env.stats()["cases"] == before + 1, 20, "the case")


def test_expired_lutong_code_offers_another_way(
    controller: KioskController, env: DemoEnvironment
) -> None:
    c = controller
    GuiDriver(c, env).run(
        item_code(c, "tax.insurance_payment"),
        stop_at=lambda v: v.step_type == "identify" and v.phase == "choose",
    )
    c.step.choice_buttons[("method", "lutong_code")].click()
    wait_until(
        lambda: c.current_view is not None and c.current_view.phase == "waiting_code", 10, "scan"
    )
    env.scan(env.issue_lutong_code(ttl_s=-60))
    wait_until(
        lambda: c.current_view is not None and c.current_view.error is not None,
        15,
        "the expired-code message",
    )
    view = c.current_view
    assert view is not None and "过期" in view.error.zh_CN  # type: ignore[union-attr]
    # the citizen can still choose the ID card instead
    methods = {ch.value: ch.enabled for ch in view.choices if ch.action == "method"}
    assert methods.get("id_card") is True
    c.feed(ev.Press("cancel"))


def test_technician_gesture_pin_and_staff_strip(
    controller: KioskController, env: DemoEnvironment, qtbot: Any
) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    c = controller
    target = c.window.offline_banner if c.window.offline_banner.isVisible() else c.home.title
    corner = target.mapFrom(c.window, QPoint(20, 20))
    for _ in range(5):  # five taps in the top-left corner, landing on whatever widget is there
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=corner)
    assert c.window.pin_pad.isVisible()
    for digit in "123456":  # a wrong PIN closes the pad and shows nothing
        c.window.pin_pad.press(digit)
    c.window.pin_pad.press("✓")
    assert not c.window.pin_pad.isVisible() and not c.window.staff_strip.isVisible()
    for _ in range(5):
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=corner)
    for digit in c.technician_pin:
        c.window.pin_pad.press(digit)
    c.window.pin_pad.press("✓")
    assert c.window.staff_strip.isVisible()
    strip = c.window.staff_strip.text()
    assert "idcard: online" in strip and "receipt_printer: online" in strip
    assert "outbox" in strip
    c.window.close_staff_button.click()
    assert not c.window.staff_strip.isVisible()
    # a tap elsewhere resets the count: four corner taps and one away open nothing
    for _ in range(4):
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=corner)
    QTest.mouseClick(c.home.title, Qt.MouseButton.LeftButton, pos=QPoint(400, 10))
    QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=corner)
    assert not c.window.pin_pad.isVisible()


def test_face_guidance_is_drawn_and_spoken(controller: KioskController) -> None:
    from kiosk.face import FaceGuidance

    c = controller
    assert isinstance(c.speaker, RecordingSpeaker)
    c.bridge.post(FaceGuidance("blink", "请眨眨眼", "Please blink", "challenge"))
    pump(0.05)
    assert c.step.guidance.isVisibleTo(c.step)
    assert c.step.guidance.text() == "请眨眨眼"
    assert ("请眨眨眼", "zh_CN") in c.speaker.said
    c.step.wipe()
    assert c.step.guidance.text() == "" and not c.step.guidance.isVisibleTo(c.step)


def test_a_cancelled_wait_does_not_swallow_the_next_sessions_answer(
    controller: KioskController, env: DemoEnvironment
) -> None:
    """Session 1 waits for a card and is cancelled; session 2's card read must still count."""
    c = controller
    code = item_code(c, "yjs.newborn")
    for _ in range(2):
        GuiDriver(c, env).run(
            code, stop_at=lambda v: v.step_type == "identify" and v.phase == "waiting_card"
        )
        c.step.buttons["cancel"].click()
        assert c.engine.session is None
    walk = GuiDriver(c, env).run(code, stop_at=lambda v: v.step_type == "consent")
    assert walk.screens[-1].startswith("consent"), walk.screens
    c.step.buttons["cancel"].click()


def test_events_queued_before_stop_are_dropped_after_it(
    qapp: QApplication, settings: Settings, env: DemoEnvironment
) -> None:
    """A worker's event still in Qt's queue when the app stops must not reach the closed outbox."""
    c = started(settings, env)
    c.stop()
    # any status event (device, link, outbox) redraws the banners, which read the outbox
    c.bridge.post(object())
    pump(0.05)  # pytest-qt fails the test on an exception raised in the Qt event loop
    assert c._stopped


def test_a_paper_material_is_photographed_and_sent(
    controller: KioskController, env: DemoEnvironment
) -> None:
    """近期免冠照片 has no e-licence and cannot be deferred: only the document camera gives it.
    The first 拍照 finds nothing on the platen and says so; the page is then placed, taken,
    previewed with 重拍, and reaches the platform as the JPEG; the session's end wipes it."""
    c = controller
    wait_until(lambda: c.runtime.device_up()["document_camera"], 20, "the document camera")
    code = next(
        i.code
        for i in c.runtime.items()
        if any(m.required and not m.waivable and not m.licence_type for m in i.materials)
        and i.flow == "yjs.personal"
    )
    env.remove_document()
    refusals: list[str] = []
    previews: list[tuple[bool, str]] = []

    def on_view(view: Any) -> None:
        if view.step_type != "materials":
            return
        if view.error is not None:
            refusals.append(view.error.zh_CN)
            env.place_document()  # the citizen lays the page down
        for m in view.materials:
            if m.status == "captured":
                button = c.step.choice_buttons.get(("capture", m.code))
                previews.append((m.code in c.step.previews, button.text() if button else ""))

    before = env.stats()["cases"]
    try:
        walk = GuiDriver(c, env, on_view=on_view).run(code)
    finally:
        env.place_document()
    assert walk.ended == "finished", walk.screens
    assert refusals and "请将材料平放在拍摄区域" in refusals[0]
    assert "materials:capturing" in walk.screens
    assert previews and all(shown and text == "重拍" for shown, text in previews)
    wait_until(lambda: env.stats()["cases"] == before + 1, 20, "the case on the platform")
    assert env.sandbox is not None
    case = env.sandbox.cases()[-1]
    body = case["body"] if isinstance(case["body"], dict) else json.loads(case["body"])
    pages = [m for m in body["materials"] if m["source"] == "captured"]
    assert pages, body["materials"]
    import base64

    from sandbox.jpeg import jpeg_size

    for m in pages:
        width, height = jpeg_size(base64.b64decode(m["content_b64"]))
        assert max(width, height) <= 2000
    # the session is over: no page is left in the kiosk's memory or on screen
    assert len(c.runtime.pages) == 0
    assert c.step.previews == {}
