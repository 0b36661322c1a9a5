"""End to end on loopback through the kiosk app itself: the real sandbox, the Qt app
(offscreen) on the demo's emulated devices with a face camera playing a red picture, and
the assistant console in headless Debian Chromium with a green fake camera.

The citizen presses 求助 on a tax form; the request is routed to the console, which
answers. Video is decoded on both sides: the console's getStats counts decoded frames and
its centre pixel is the kiosk camera's red (so the camera device's frames are what is sent,
not the no-camera card); the app's corner shows the console's green, and its preview the
red the assistant sees. Audio both ways through the app's ``[remote_help]`` speaker and
microphone on ALSA's file plugin (tests/remote/alsa.py): the console's beeps are in the
speaker's output file, the tone in the microphone's capture file is the console's inbound
audio energy. The citizen consents on screen, the assistant fills a field from
the page, the kiosk's form shows it, the citizen taps stop, the assistant ends; the corner
is hidden and wiped, and the kiosk's audit file reconciles with the console's chain.

The GUI thread is the test's thread: every wait goes through ``wait_until``, which runs the
Qt event loop between looks at the page (a blocking Playwright wait would hold the app's
events back for its whole length).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from playwright.sync_api import Browser, Page
from PySide6.QtWidgets import QApplication, QLabel

from kiosk.app.shell import KioskController
from kiosk.app.tour import GuiDriver, pump, wait_until
from kiosk.demo_env import DemoEnvironment
from kiosk.remote import audit
from kiosk.runtime import Runtime
from tests.remote.alsa import MICROPHONE, SPEAKER, AlsaFiles, write_tone
from tests.remote.browser import CENTRE_IS_RED, FRAMES_DECODED, is_green, login
from tests.remote.test_e2e_audio_browser import ENERGY, loudest_20ms
from tests.remote.test_signalling import add_assistant

WAIT_S = 30.0
RED_BGR = (30, 30, 220)


def js(page: Page, expression: str) -> Callable[[], bool]:
    return lambda: bool(page.evaluate(expression))


def shown(page: Page, selector: str) -> Callable[[], bool]:
    return lambda: page.locator(selector).count() > 0


def centre(label: QLabel) -> tuple[int, int, int] | None:
    pixmap = label.pixmap()
    if pixmap.isNull():
        return None
    image = pixmap.toImage()
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def test_help_with_video_through_the_app_and_the_browser_console(
    qapp: QApplication, browser: Browser, alsa: AlsaFiles, tmp_path: Path
) -> None:
    red = tmp_path / "red.png"
    cv2.imwrite(str(red), np.full((480, 640, 3), RED_BGR, np.uint8))
    write_tone(alsa.captured, seconds=60.0)
    with DemoEnvironment(tmp_path / "demo", camera=red) as env:
        settings = env.start()
        audio = {"audio": True, "speaker": SPEAKER, "microphone": MICROPHONE}
        settings = settings.model_copy(
            update={"remote_help": settings.remote_help.model_copy(update=audio)}
        )
        sb = env.sandbox
        assert sb is not None
        sb.admin(
            "PUT",
            "/admin/assist/config",
            {"offer_timeout_s": 60, "callback_after_s": 600, "kiosk_grace_s": 10},
        )
        add_assistant(sb, "app", "tax")
        page = login(browser, sb, "app")
        c = KioskController(lambda post: Runtime(settings, post))
        c.start()
        try:
            run(c, env, page, settings, alsa)
        finally:
            c.stop()
            page.close()


def run(
    c: KioskController, env: DemoEnvironment, page: Page, settings: Any, alsa: AlsaFiles
) -> None:
    corner = c.window.video
    wait_until(lambda: c.booted and c.runtime.online, WAIT_S, "the platform")
    up = c.runtime.device_up
    wait_until(lambda: up()["idcard"] and up()["camera"], WAIT_S, "the reader and camera")
    GuiDriver(c, env).run("SW-0001", stop_at=lambda v: v.step_type == "form")
    c.step.buttons["help"].click()  # 求助

    # routed: the console is offered the request and answers
    wait_until(shown(page, "text=接听"), WAIT_S, "the offer in the console")
    page.click("text=接听")
    wait_until(c.window.assist_bar.isVisible, WAIT_S, "the 'assistant is helping' bar")
    assert "工作人员正在协助您" in c.window.assist_label.text()

    # video in the browser: frames decoded, and the kiosk camera's red in the middle
    wait_until(js(page, FRAMES_DECODED), WAIT_S, "decoded video in the console")
    wait_until(js(page, CENTRE_IS_RED), WAIT_S, "the kiosk camera's red in the console")
    # video in the app: the console's green in the corner, the camera's red in the preview
    wait_until(
        lambda: (rgb := centre(corner.assistant)) is not None and is_green(rgb),
        WAIT_S,
        "the console's green in the kiosk's video corner",
    )
    assert corner.isVisible()
    wait_until(
        lambda: (rgb := centre(corner.preview)) is not None and rgb[0] > 170 and rgb[1] < 80,
        WAIT_S,
        "the camera's red in the kiosk's preview",
    )

    # audio: the kiosk's microphone in the console, the console's beeps on the kiosk speaker
    assert c.runtime.remote_help.audio_status == {"microphone": "ok", "speaker": "ok"}
    wait_until(js(page, ENERGY), WAIT_S, "the kiosk microphone's tone in the console")
    wait_until(
        lambda: loudest_20ms(alsa.played.read_bytes()) > 1000,
        WAIT_S,
        "the console's beeps on the kiosk speaker",
    )

    # the citizen consents on the kiosk's screen
    page.click("[data-scope=fill]")
    wait_until(c.window.consent_bar.isVisible, WAIT_S, "the consent question")
    c.window.consent_grant.click()
    wait_until(shown(page, "#holder >> text=坐席（已授权）"), WAIT_S, "control in the console")

    # the assistant fills a field from the page; the kiosk's form shows it
    view = c.current_view
    assert view is not None
    target = next(f for f in view.fields if f.editable and f.kind == "year")
    row = page.locator("#fields .field").filter(has_text=target.label.zh_CN)
    row.locator("input").fill("2023")
    row.locator("button").click()

    def filled() -> bool:
        v = c.current_view
        return v is not None and any(f.id == target.id and f.value == "2023" for f in v.fields)

    wait_until(filled, WAIT_S, "the assistant's value on the kiosk's form")
    assert "2023" in c.step.field_labels[target.id].text()
    wait_until(shown(page, "#last-result >> text=已执行"), WAIT_S, "the intent's result")

    # the citizen takes control back
    c.window.assist_stop.click()
    wait_until(shown(page, "#holder >> text=群众"), WAIT_S, "control back with the citizen")
    console_records = page.evaluate("rhSession().audit.records")

    # the assistant ends; the corner goes and keeps nothing
    page.click("#end")
    wait_until(lambda: not c.window.assist_bar.isVisible(), WAIT_S, "the bar going away")
    assert not corner.isVisible()
    assert corner.assistant.pixmap().isNull() and corner.preview.pixmap().isNull()
    assert c.runtime.remote_help is not None
    assert c.runtime.remote_help.join(WAIT_S), "the help session's thread ended"
    pump(0.2)
    assert not corner.isVisible()  # no late picture brought it back
    camera = c.runtime.devices["camera"]
    assert camera.poll_interval == 1.0, "the call let the camera go back to idle"

    (path,) = Path(settings.outbox.path).with_name("remote-help").glob("*.jsonl")
    result = audit.reconcile(audit.load(path), console_records)
    assert result.ok, result
    sent = [r for r in console_records if r["event"] == "intent.sent"]
    assert len(sent) == 1 and json.dumps(sent).count("2023") == 0  # ids, never values
