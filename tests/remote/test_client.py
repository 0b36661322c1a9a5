"""The kiosk's remote-help session against the real sandbox, with a scripted console: routed,
joined, masked snapshot, consent, a field filled, the citizen stops control, the session
ends, the kiosk's audit file reconciles with the console's chain, and that chain reaches the
platform through the kiosk's durable outbox (kind ``audit``) and reconciles there too."""

from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.client import RemoteHelp
from kiosk.remote.envelope import Envelope, encode, parse
from kiosk.remote.notices import AssistStatus, ConsentRequested
from offline.client import PlatformClient
from offline.outbox import ItemDead, ItemDelivered, Outbox, OutboxEvent
from offline.sealing import KeyRing
from offline.sender import Sender
from tests.remote.test_signalling import add_assistant, recv, ws_url
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")
WAIT_S = 10.0


class Console:
    """The assistant's side of rh/1 as the browser console does it, plus its audit chain."""

    def __init__(self, ws: ClientConnection, sid: str) -> None:
        self.ws, self.sid, self.seq, self.rev = ws, sid, 0, 0
        self.chain = audit.AuditChain()

    def send(self, mtype: str, body: dict[str, Any] | None = None) -> str:
        self.seq += 1
        mid = f"a-{self.seq}"
        intent = mtype.startswith("intent.")
        env = Envelope(
            self.sid,
            "assistant",
            self.seq,
            mid,
            mtype,
            body or {},
            base_rev=self.rev if intent else None,
        )
        if intent:
            self.chain.append(
                ts=0, sid=self.sid, actor="assistant", event="intent.sent", data={"intent": mid}
            )
        self.ws.send(json.dumps({"type": "rh", "data": encode(env)}))
        return mid

    def expect(self, mtype: str) -> Envelope:
        while True:
            env = parse(recv(self.ws, "rh")["data"])
            if env.rev is not None:
                self.rev = env.rev
            if env.type == "intent.result":
                self.chain.append(
                    ts=0,
                    sid=self.sid,
                    actor="assistant",
                    event="intent.outcome",
                    data={"intent": env.body["ref"], "result": env.body["result"]},
                )
            if env.type == mtype:
                return env


def next_of(posted: queue.Queue[object], kind: type) -> Any:
    while True:
        item = posted.get(timeout=WAIT_S)
        if isinstance(item, kind):
            return item


@pytest.fixture
def client(sandbox: SandboxProcess) -> PlatformClient:
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 30, "callback_after_s": 600, "kiosk_grace_s": 5},
    )
    return PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=10)


def test_a_whole_help_session(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    posted: queue.Queue[object] = queue.Queue()
    outbox = Outbox(
        tmp_path / "outbox.sqlite3",
        KeyRing.load_or_create(tmp_path / "outbox.key"),
        min_free_mb=0,
    )
    outbox_events: queue.Queue[OutboxEvent] = queue.Queue()
    outbox.add_listener(outbox_events.put)
    sender = Sender(outbox, client, retry_base_s=0.05, retry_cap_s=0.3, tick_s=0.05)
    sender.start()
    token = add_assistant(sandbox, "k1", "tax")
    request = ev.CallAssistant(
        request_id=11,
        mode="remote_video",
        item_code="370100-TAX-01",
        flow_id="tax.certificate",
        step_id="form1",
    )
    with connect(ws_url(sandbox, "/ws/assistant", token)) as ws:
        ws.send(json.dumps({"type": "ready", "ready": True}))
        helper = RemoteHelp(
            client,
            posted.put,
            request,
            allow=masking.AllowList(),
            audit_dir=tmp_path,
            skill="tax",
            context={"link": "online"},
            outbox=outbox,
        )
        helper.view_changed(view(field("amount"), field("name", "张三")))  # before it is up
        helper.start()
        try:
            offer = recv(ws, "offer")["task"]
            ws.send(json.dumps({"type": "accept", "task": offer["id"]}))
            recv(ws, "session")
            assert next_of(posted, ev.AssistantJoined) == ev.AssistantJoined(request_id=11)
            c = Console(ws, offer["id"])
            snap = c.expect("snapshot")
            assert snap.body["fields"]["name"]["masked"] and "张三" not in encode(snap)

            c.send("consent.request", {"scopes": ["fill"]})
            assert next_of(posted, ConsentRequested).scopes == {"fill"}
            helper.grant({"fill"})
            assert c.expect("control.state").body["holder"] == "assistant"
            c.send("intent.field", {"field": "amount", "value": "128.50"})
            assert c.expect("intent.result").body["result"] == "applied"
            assert next_of(posted, ev.Input) == ev.Input(field="amount", value="128.50")
            # the kiosk shows it: the flow's next view goes out as a patch
            helper.view_changed(view(field("amount", "128.50"), field("name", "张三")))
            assert c.expect("patch").body["fields"]["amount"]["filled"] is True

            helper.stop()
            c.expect("citizen.stop")
            assert c.expect("control.state").body["holder"] == "citizen"
            c.send("intent.field", {"field": "amount", "value": "1"})
            assert c.expect("intent.result").body["reason"] == "no_consent"
            status = next_of(posted, AssistStatus)
            while status.holder != "citizen" or status.scopes:
                status = next_of(posted, AssistStatus)

            c.send("end", {"reason": "done"})
            assert next_of(posted, ev.AssistantLeft) == ev.AssistantLeft(request_id=11)
            ws.send(json.dumps({"type": "end"}))
            assert helper.join(WAIT_S)
            # the chain was queued at session end; the sender delivers it
            delivered = outbox_events.get(timeout=WAIT_S)
            while not isinstance(delivered, ItemDelivered | ItemDead):
                delivered = outbox_events.get(timeout=WAIT_S)
            assert isinstance(delivered, ItemDelivered), delivered
            assert (delivered.kind, delivered.session_id) == ("audit", c.sid)
        finally:
            helper.end("test_over")
            helper.join(WAIT_S)
            sender.stop()
            outbox.close()
    (path,) = tmp_path.glob("*.jsonl")
    kiosk_records = audit.load(path)
    # marked as queued: a later kiosk start does not hand it over again
    assert path.with_suffix(audit.QUEUED_SUFFIX).exists()
    rec = audit.reconcile(kiosk_records, c.chain.records)
    assert rec.ok, rec
    assert "张三" not in path.read_text(encoding="utf-8")
    assert "128.50" not in path.read_text(encoding="utf-8")
    # the platform holds the same chain, verifiable and reconcilable with the console's
    events = sandbox.admin("GET", f"/admin/audit-events?session_id={c.sid}")
    assert {(e["kiosk_id"], e["type"]) for e in events} == {(sandbox.kiosk_id, audit.UPLOAD_TYPE)}
    platform_records = [e["data"] for e in events]
    assert platform_records == kiosk_records
    assert audit.reconcile(platform_records, c.chain.records).ok


def test_nobody_there_answers_no_assistant(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    posted: queue.Queue[object] = queue.Queue()
    request = ev.CallAssistant(
        request_id=5, mode="remote_video", item_code="x", flow_id="f", step_id="s"
    )
    helper = RemoteHelp(
        client,
        posted.put,
        request,
        allow=masking.AllowList(),
        audit_dir=tmp_path,
        skill="certificate",
    )
    helper.start()
    failed = next_of(posted, ev.EffectFailed)
    assert (failed.request_id, failed.reason) == (5, "no_assistant")
    assert helper.join(WAIT_S)


def test_an_unreachable_platform_answers_no_assistant(tmp_path: Path) -> None:
    posted: queue.Queue[object] = queue.Queue()
    dead = PlatformClient("http://127.0.0.1:9", "kiosk-x", "secret", timeout_s=2)
    request = ev.CallAssistant(request_id=6, mode="remote_video")
    helper = RemoteHelp(dead, posted.put, request, allow=masking.AllowList(), audit_dir=tmp_path)
    helper.start()
    assert next_of(posted, ev.EffectFailed).reason == "no_assistant"
    assert helper.join(WAIT_S)
