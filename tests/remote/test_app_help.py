"""Remote help through the kiosk app itself (offscreen Qt), the real sandbox's router and a
scripted assistant console: the citizen presses 求助 on a tax item, the request is routed and
accepted, the app shows "工作人员正在协助您", the citizen consents on screen, the assistant
fills a field and the kiosk's form shows it, the citizen taps stop, the assistant ends, and the
kiosk's audit file reconciles with the console's chain. (Media is covered by
test_e2e_browser.py, which runs the same kiosk session against the browser console.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from websockets.sync.client import connect

from kiosk.app.shell import KioskController
from kiosk.app.tour import GuiDriver, pump, wait_until
from kiosk.demo_env import DemoEnvironment
from kiosk.remote import audit
from kiosk.runtime import Runtime
from tests.remote.test_client import Console
from tests.remote.test_signalling import add_assistant, recv, ws_url


@pytest.fixture
def env(tmp_path: Path) -> Iterator[DemoEnvironment]:
    with DemoEnvironment(tmp_path / "demo") as demo:
        demo.start()
        yield demo


def test_help_session_through_the_app(qapp: QApplication, env: DemoEnvironment) -> None:
    assert env.sandbox is not None and env.settings is not None
    sb = env.sandbox
    sb.admin("PUT", "/admin/assist/config", {"offer_timeout_s": 30, "callback_after_s": 600})
    token = add_assistant(sb, "a1", "tax")
    c = KioskController(lambda post: Runtime(env.settings, post))  # type: ignore[arg-type]
    c.start()
    try:
        wait_until(lambda: c.booted and c.runtime.online, 20, "the platform")
        wait_until(lambda: c.runtime.device_up()["idcard"], 20, "the reader")
        with connect(ws_url(sb, "/ws/assistant", token)) as ws:
            ws.send(json.dumps({"type": "ready", "ready": True}))
            GuiDriver(c, env).run("SW-0001", stop_at=lambda v: v.step_type == "form")
            c.step.buttons["help"].click()  # 求助
            offer = recv(ws, "offer")["task"]
            ws.send(json.dumps({"type": "accept", "task": offer["id"]}))
            recv(ws, "session")
            console = Console(ws, offer["id"])
            snapshot = console.expect("snapshot")
            assert snapshot.body["fields"], "the assistant sees the kiosk's form"
            wait_until(c.window.assist_bar.isVisible, 10, "the 'assistant is helping' bar")
            assert "工作人员正在协助您" in c.window.assist_label.text()

            console.send("consent.request", {"scopes": ["fill"]})
            wait_until(c.window.consent_bar.isVisible, 10, "the consent question")
            c.window.consent_grant.click()  # the citizen agrees, on the kiosk
            assert console.expect("control.state").body["holder"] == "assistant"

            view = c.current_view
            assert view is not None
            target = next(f for f in view.fields if f.editable and f.kind == "year")
            console.send("intent.field", {"field": target.id, "value": "2023"})
            assert console.expect("intent.result").body["result"] == "applied"
            wait_until(
                lambda: (
                    c.current_view is not None
                    and any(f.id == target.id and f.value == "2023" for f in c.current_view.fields)
                ),
                10,
                "the assistant's value on the kiosk's form",
            )
            c.window.assist_stop.click()  # the citizen takes control back at once
            console.expect("citizen.stop")
            assert console.expect("control.state").body["holder"] == "citizen"

            console.send("end", {"reason": "done"})
            ws.send(json.dumps({"type": "end"}))
            wait_until(lambda: not c.window.assist_bar.isVisible(), 10, "the bar going away")
            pump(0.2)
        audit_dir = Path(env.settings.outbox.path).with_name("remote-help")
        (path,) = audit_dir.glob("*.jsonl")
        result = audit.reconcile(audit.load(path), console.chain.records)
        assert result.ok, result
    finally:
        c.stop()
