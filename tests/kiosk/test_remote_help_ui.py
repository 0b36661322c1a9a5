"""The app's side of remote help (docs/remote-help.md §6), against a recording stand-in for
kiosk.remote.client.RemoteHelp: banner, consent dialog, call-back offer, the stop and end
buttons, views forwarded while an assistant helps, and the session ended with the flow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from config.schema import Settings
from flows import events as ev
from kiosk.app.shell import KioskController
from kiosk.app.tour import pump, wait_until
from kiosk.remote.notices import AssistStatus, CallbackOffered, ConsentRequested
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
