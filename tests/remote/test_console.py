"""The assistant console: served by the real sandbox (Chinese UI), and its rh/1 module
(sandbox/console/rh.js, run under Node) interoperating with the Python kiosk side — it
follows snapshots and patches, its intents are accepted by KioskProtocol, and its audit
chain verifies and reconciles in Python. No browser here: the DOM part is not exercised."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import requests
from hypothesis import given, settings

from kiosk.remote import audit, masking
from kiosk.remote.protocol import KioskProtocol, Send
from tests.remote.test_masking import views
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

REPO = Path(__file__).resolve().parents[2]
RH_JS = REPO / "sandbox" / "console" / "rh.js"
HARNESS = Path(__file__).with_name("console_harness.mjs")
NODE = shutil.which("node")  # the apt package nodejs (scripts/setup.sh)

sandbox = sandbox_fixture(scope="module")


def run_js(job: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None, "install nodejs (scripts/setup.sh does)"
    proc = subprocess.run(
        [NODE, str(HARNESS), RH_JS.as_uri()],
        input=json.dumps(job, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_the_console_is_served_in_chinese(sandbox: SandboxProcess) -> None:
    page = requests.get(sandbox.url + "/assist/console/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for words in ("坐席工作台", "求助队列", "请求代填授权", "转接", "备注", "结束协助"):
        assert words in page.text
    for name in ("console.js", "rh.js"):
        js = requests.get(sandbox.url + f"/assist/console/{name}", timeout=10)
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        if name == "console.js":  # offers are answered with 接听 / 拒接 buttons drawn by it
            assert "接听" in js.text and "拒接" in js.text
    assert requests.get(sandbox.url + "/assist/console/../app.py", timeout=10).status_code == 404


def test_the_console_page_script_parses(tmp_path: Path) -> None:
    assert NODE is not None, "install nodejs (scripts/setup.sh does)"
    copy = tmp_path / "console.mjs"  # .mjs: checked as an ES module, as the browser loads it
    copy.write_text((RH_JS.parent / "console.js").read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.run(
        [NODE, "--check", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr


def kiosk_envs(outs: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(o.text) for o in outs if isinstance(o, Send)]


def test_the_js_console_and_the_python_kiosk_speak_the_same_rh1() -> None:
    chain = audit.AuditChain()
    k = KioskProtocol(
        "rh-js-1",
        masking.AllowList.of([("tax.certificate", "form1", "amount")]),
        chain,
        request_id=1,
    )
    history: list[dict[str, Any]] = []
    k.view_changed(view(field("amount", "12"), field("name", "张三")), 0.0)
    history += [{"in": e} for e in kiosk_envs(k.assistant_joined(1.0))]
    history.append({"out": ["consent.request", {"scopes": ["fill"]}]})
    js = run_js({"sid": k.sid, "steps": history})
    k.receive(json.dumps(js["outs"][-1]), 1.5)
    history += [{"in": e} for e in kiosk_envs(k.grant({"fill"}, 2.0))]
    history += [
        {"in": e}
        for e in kiosk_envs(k.view_changed(view(field("amount", "13"), field("name", "张三")), 2.5))
    ]
    history.append({"out": ["intent.field", {"field": "name", "value": "李四"}]})
    js = run_js({"sid": k.sid, "steps": history})
    state = js["state"]
    assert state["holder"] == "assistant" and state["scopes"] == ["fill"]
    assert state["view"]["fields"]["amount"]["display"] == "13"  # allowed, patched
    assert state["view"]["fields"]["name"]["masked"] is True
    intent = js["outs"][-1]
    assert intent["base_rev"] == k.rev
    outs = k.receive(json.dumps(intent, ensure_ascii=False), 3.0)
    history.pop()  # replay the same intent (same id) with its answer this time
    history.append({"out": ["intent.field", {"field": "name", "value": "李四"}]})
    history += [{"in": e} for e in kiosk_envs(outs)]
    js = run_js({"sid": k.sid, "steps": history})
    (result,) = js["state"]["results"].values()
    assert result["result"] == "applied"
    audit.verify(js["audit"])  # the JS chain verifies with the Python code
    assert audit.reconcile(chain.records, js["audit"]).ok


def test_a_gap_in_patches_makes_the_console_ask_for_a_snapshot() -> None:
    k = KioskProtocol("rh-js-2", masking.AllowList(), audit.AuditChain())
    k.view_changed(view(field("a")), 0.0)
    first = kiosk_envs(k.assistant_joined(1.0))
    lost = kiosk_envs(k.view_changed(view(field("a"), busy=True), 2.0))
    later = kiosk_envs(k.view_changed(view(field("a")), 3.0))
    assert [e["type"] for e in lost + later] == ["patch", "patch"]
    js = run_js({"sid": k.sid, "steps": [{"in": e} for e in first + later]})
    assert js["resync"] == [later[0]["seq"]]
    assert js["state"]["view"] == first[0]["body"]  # the stale mirror is not patched


@settings(max_examples=15, deadline=None)
@given(views(), views())
def test_js_patches_equal_python_patches(
    a: tuple[Any, masking.AllowList], b: tuple[Any, masking.AllowList]
) -> None:
    old, new = masking.snapshot(*a), masking.snapshot(*b)
    js = run_js({"sid": "s", "steps": [], "patch": [old, masking.diff(old, new)]})
    assert js["patched"] == new
