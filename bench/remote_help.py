"""Remote video help (远程帮办): what the control path costs, measured on this machine.

1. **Kiosk-side CPU per message** (pure, in-process): masking a form step into a snapshot
   plus its patch, and the full handling of one field intent by
   :class:`kiosk.remote.protocol.KioskProtocol` (parse, checks, audit record, answer).
2. **Signalling through the real sandbox** (process on loopback, kiosk client
   :class:`kiosk.remote.client.RemoteHelp`, a scripted console on the assistant socket):
   time from the help request to the assistant's offer, from *accept* to the kiosk's
   ``AssistantJoined`` and to the console's first snapshot, and the round trip of an intent
   (console → platform → kiosk → platform → console), median and 95th percentile.

Not measured yet (media is not built, see docs/remote-help.md): time from accept to the first
*decoded video frame* on each side (target ≤ 2 s) and the kiosk's CPU during a two-way
640×480@15 call (target ≤ 50 % of one core); the research figures are quoted in the doc.

Run: ``.venv/bin/python -m bench.remote_help [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.client import RemoteHelp
from kiosk.remote.envelope import Envelope, encode, parse
from kiosk.remote.protocol import KioskProtocol
from kiosk.sandbox_process import start_sandbox
from offline.client import PlatformClient
from tests.remote.views import field, view


def pure(rounds: int) -> None:
    fields = [field(f"f{i}", f"值{i}", masked=i % 3 == 0) for i in range(12)]
    allow = masking.AllowList.of([("tax.certificate", "form1", f"f{i}") for i in range(0, 12, 2)])
    a, b = view(*fields), view(*fields, busy=True)
    t0 = time.perf_counter()
    for _ in range(rounds):
        old = masking.snapshot(a, allow)
        masking.diff(old, masking.snapshot(b, allow))
    per = (time.perf_counter() - t0) / rounds / 2
    print(f"mask a 12-field step into a snapshot (+ half a diff): {per * 1e6:8.1f} µs")

    k = KioskProtocol("bench", allow, audit.AuditChain())
    k.view_changed(a, 0.0)
    k.assistant_joined(0.0)
    k.receive(
        encode(Envelope("bench", "assistant", 1, "c", "consent.request", {"scopes": ["fill"]})), 0.0
    )
    k.grant({"fill"}, 0.0)
    texts = [
        encode(
            Envelope(
                "bench",
                "assistant",
                2 + i,
                f"a-{i}",
                "intent.field",
                {"field": "f1", "value": "1"},
                base_rev=k.rev,
            )
        )
        for i in range(rounds)
    ]
    t0 = time.perf_counter()
    for text in texts:
        k.receive(text, 1.0)
    per = (time.perf_counter() - t0) / rounds
    print(f"handle one field intent (parse, checks, audit, answer): {per * 1e6:8.1f} µs")


def signalling(rounds: int) -> None:
    posted: queue.Queue[object] = queue.Queue()
    with start_sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        sb.admin(
            "PUT",
            "/admin/assistants/bench",
            {"name": "坐席", "password": "bench-password", "skills": ["tax"]},
        )
        token = requests.post(
            sb.url + "/assist/login",
            timeout=10,
            json={"assistant_id": "bench", "password": "bench-password"},
        ).json()["token"]
        client = PlatformClient(sb.url, sb.kiosk_id, sb.secret, timeout_s=10)
        with connect(sb.url.replace("http", "ws") + f"/ws/assistant?token={token}") as ws:

            def until(mtype: str) -> dict[str, Any]:
                while True:
                    msg: dict[str, Any] = json.loads(ws.recv(timeout=10))
                    if msg["type"] == mtype:
                        return msg

            def rh_until(mtype: str) -> Envelope:
                while True:
                    env = parse(until("rh")["data"])
                    if env.type == mtype:
                        return env

            ws.send(json.dumps({"type": "ready", "ready": True}))
            request = ev.CallAssistant(
                request_id=1,
                mode="remote_video",
                item_code="x",
                flow_id="tax.certificate",
                step_id="form1",
            )
            helper = RemoteHelp(
                client,
                posted.put,
                request,
                allow=masking.AllowList(),
                audit_dir=Path(tmp),
                skill="tax",
            )
            helper.view_changed(view(field("amount")))
            t0 = time.perf_counter()
            helper.start()
            offer = until("offer")["task"]
            t_offer = time.perf_counter()
            ws.send(json.dumps({"type": "accept", "task": offer["id"]}))
            while not isinstance(posted.get(timeout=10), ev.AssistantJoined):
                pass
            t_joined = time.perf_counter()
            snap = rh_until("snapshot")
            t_snap = time.perf_counter()
            print(f"help request → offer on the console:        {(t_offer - t0) * 1e3:7.1f} ms")
            print(
                f"accept → kiosk AssistantJoined:              {(t_joined - t_offer) * 1e3:7.1f} ms"
            )
            print(
                f"accept → first snapshot at the console:      {(t_snap - t_offer) * 1e3:7.1f} ms"
            )
            sid, rev, seq = offer["id"], snap.rev or 0, 1
            ws.send(
                json.dumps(
                    {
                        "type": "rh",
                        "data": encode(
                            Envelope(
                                sid,
                                "assistant",
                                seq,
                                "c-1",
                                "consent.request",
                                {"scopes": ["fill"]},
                            )
                        ),
                    }
                )
            )
            time.sleep(0.2)  # the consent request reaches the kiosk before it grants
            helper.grant({"fill"})
            rev = rh_until("control.state").rev or rev
            times = []
            for i in range(rounds):
                seq += 1
                text = encode(
                    Envelope(
                        sid,
                        "assistant",
                        seq,
                        f"i-{i}",
                        "intent.field",
                        {"field": "amount", "value": str(i)},
                        base_rev=rev,
                    )
                )
                t = time.perf_counter()
                ws.send(json.dumps({"type": "rh", "data": text}))
                result = rh_until("intent.result")
                times.append(time.perf_counter() - t)
                assert result.body["result"] == "applied", result.body
            times.sort()
            print(
                f"intent round trip console→kiosk→console:     median "
                f"{statistics.median(times) * 1e3:6.2f} ms, p95 "
                f"{times[int(len(times) * 0.95) - 1] * 1e3:6.2f} ms ({rounds} intents)"
            )
            helper.end("bench_over")
            helper.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    pure(args.rounds * 4)
    signalling(args.rounds)


if __name__ == "__main__":
    main()
