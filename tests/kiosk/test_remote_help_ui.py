"""The app's side of remote help (docs/remote-help.md §6), against a recording stand-in for
kiosk.remote.client.RemoteHelp: banner, consent dialog, call-back offer, the stop and end
buttons, views forwarded while an assistant helps, and the session ended with the flow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from config.schema import Settings
from flows import events as ev
from kiosk.app.shell import KioskController
from kiosk.app.tour import pump, wait_until
from kiosk.remote.notices import AssistStatus, CallbackOffered, ConsentRequested
from kiosk.remote.video import PictureRelay
from kiosk.runtime import Runtime


class RecordingHelper:
    def __init__(self, request_id: int = 0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.request = ev.CallAssistant(request_id=request_id)

    def view_changed(self, view: Any) -> None:
        self.calls.append(("view", view.step_type))

    def grant(self, scopes: Any) -> None:
        self.calls.append(("grant", frozenset(scopes)))

    def deny(self) -> None:
        self.calls.append(("deny", None))

    def stop(self) -> None:
        self.calls.append(("stop", None))

    def end(self, reason: str = "citizen") -> None:
        self.calls.append(("end", reason))

    def accept_callback(self) -> None:
        self.calls.append(("callback", None))


@pytest.fixture
def app(qapp: QApplication, tmp_path: Any) -> Iterator[KioskController]:
    settings = Settings.model_validate(
        {
            "platform": {"url": "http://127.0.0.1:9", "secret_file": None},
            "outbox": {"path": str(tmp_path / "o.sqlite3"), "key_file": str(tmp_path / "k")},
        }
    )
    c = KioskController(lambda post: Runtime(settings, post, secret="s" * 32))
    c.start()
    wait_until(lambda: c.booted, 10, "boot")
    try:
        yield c
    finally:
        c.stop()


def status(phase: str, holder: str = "citizen", scopes: frozenset[str] = frozenset()) -> Any:
    return AssistStatus("sid-1", phase, holder, scopes, True, 3)


def test_banner_consent_stop_end(app: KioskController) -> None:
    c, w = app, app.window
    helper = RecordingHelper()
    c.runtime.remote_help = helper
    c.bridge.post(status("connected"))
    pump(0.05)
    assert w.assist_bar.isVisibleTo(w) and "工作人员正在协助您" in w.assist_label.text()
    c.bridge.post(ConsentRequested("sid-1", frozenset({"fill", "navigate"})))
    pump(0.05)
    assert w.consent_bar.isVisibleTo(w) and "代填信息" in w.consent_label.text()
    w.consent_grant.click()
    assert ("grant", frozenset({"fill", "navigate"})) in helper.calls
    assert not w.consent_bar.isVisibleTo(w)
    c.bridge.post(status("connected", "assistant", frozenset({"fill"})))
    pump(0.05)
    assert "工作人员操作中" in w.assist_label.text() and "已授权：代填信息" in w.assist_label.text()
    w.assist_stop.click()  # revokes everything at once; the call goes on
    assert helper.calls[-1] == ("stop", None)
    c.bridge.post(ConsentRequested("sid-1", frozenset({"document"})))
    pump(0.05)
    w.consent_deny.click()
    assert helper.calls[-1] == ("deny", None)
    w.assist_end.click()
    assert helper.calls[-1:] == [("end", "citizen")]
    c.bridge.post(status("ended"))
    pump(0.05)
    assert not w.assist_bar.isVisibleTo(w) and w.assist_label.text() == ""


def test_callback_offer(app: KioskController) -> None:
    c, w = app, app.window
    helper = RecordingHelper()
    c.runtime.remote_help = helper
    c.bridge.post(CallbackOffered("sid-1"))
    pump(0.05)
    assert w.callback_bar.isVisibleTo(w)
    w.callback_accept.click()
    assert helper.calls == [("callback", None)] and not w.callback_bar.isVisibleTo(w)


def test_the_flow_ending_ends_the_help_session(app: KioskController) -> None:
    c = app
    helper = RecordingHelper()
    c.runtime.remote_help = helper
    c.bridge.post(status("connected"))
    pump(0.05)
    c.runtime.wipe()  # what the app does when the citizen's session ends
    assert helper.calls == [("end", "session_end")] and c.runtime.remote_help is None


def test_cancelling_the_call_request_ends_it(app: KioskController) -> None:
    helper = RecordingHelper(request_id=41)
    app.runtime.remote_help = helper
    app.runtime.carry_out(ev.CancelRequest(request_id=41))
    assert helper.calls == [("end", "cancelled")] and app.runtime.remote_help is None


def test_an_assistants_field_edit_reaches_the_form(app: KioskController) -> None:
    """kiosk.remote delivers an accepted field-edit intent as ev.Input through the runtime's
    post: the app applies it to the flow like the citizen's own input."""
    c = app
    code = next(i.code for i in c.runtime.items() if i.flow == "tax.invoice_check")
    c.start_item(code)
    view = c.current_view
    assert view is not None and view.step_type == "form"
    field = next(f for f in view.fields if f.editable and f.kind == "code")
    c.bridge.post(ev.Input(field.id, "037002100111"))
    pump(0.05)
    view = c.current_view
    assert view is not None
    assert next(f for f in view.fields if f.id == field.id).value == "037002100111"
    assert "037002100111" in c.step.field_labels[field.id].text()
    c.feed(ev.Press("cancel"))


def picture_frame(rgb: tuple[int, int, int]) -> Any:
    from av import VideoFrame

    arr = np.full((240, 320, 3), rgb, np.uint8)
    return VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")


def centre(label: Any) -> tuple[int, int, int]:
    image = label.pixmap().toImage()
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def test_video_corner_shows_while_connected_and_is_wiped_when_help_ends(
    app: KioskController,
) -> None:
    c, corner = app, app.window.video
    c.runtime.remote_help = RecordingHelper()
    relay = PictureRelay(c.bridge.post)
    c.runtime.remote_video = relay
    relay.assistant_frame(picture_frame((20, 200, 40)))  # before anyone is connected
    pump(0.05)
    assert not corner.isVisibleTo(c.window) and corner.assistant.pixmap().isNull()
    c.bridge.post(status("connected"))
    pump(0.05)
    relay.assistant_frame(picture_frame((20, 200, 40)))
    relay.preview_frame(picture_frame((200, 30, 30)))
    wait_until(lambda: not corner.preview.pixmap().isNull(), 10, "the preview")
    assert corner.isVisibleTo(c.window)
    r, g, b = centre(corner.assistant)
    assert g > 160 and r < 60 and b < 80, (r, g, b)
    r, g, b = centre(corner.preview)
    assert r > 160 and g < 70 and b < 70, (r, g, b)
    # in the window's bottom-right corner, inside it
    central = c.window.centralWidget()
    assert central is not None
    assert corner.geometry().right() < central.width()
    assert corner.geometry().right() > central.width() // 2
    c.bridge.post(status("ended"))
    pump(0.05)
    assert not corner.isVisibleTo(c.window)
    assert corner.assistant.pixmap().isNull() and corner.preview.pixmap().isNull()


def test_the_session_ending_wipes_the_video_and_its_waiting_pictures(
    app: KioskController,
) -> None:
    c, corner = app, app.window.video
    c.runtime.remote_help = RecordingHelper()
    relay = PictureRelay(lambda _e: None)  # the GUI never hears of these: they wait
    c.runtime.remote_video = relay
    c.bridge.post(status("connected"))
    pump(0.05)
    relay.preview_frame(picture_frame((200, 30, 30)))
    picture = relay.take("preview")
    assert picture is not None
    corner.show_picture(picture)
    relay.preview_frame(picture_frame((200, 30, 30)))  # one more waiting in the relay
    code = next(i.code for i in c.runtime.items() if i.flow == "tax.invoice_check")
    c.start_item(code)
    c.feed(ev.Press("cancel"))  # the citizen leaves: the session ends
    pump(0.05)
    assert c.engine.session is None
    assert not corner.isVisibleTo(c.window) and corner.preview.pixmap().isNull()
    assert c.runtime.remote_video is None and relay.take("preview") is None
