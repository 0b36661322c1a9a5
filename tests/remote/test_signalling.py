"""Signalling and routing against the real sandbox process: authenticated sockets, offers to
the right skill, decline and lapse re-offers, relay of rh/1 envelopes both ways, transfer,
end, no-assistant and call-back offers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from kiosk.remote.envelope import Envelope, encode, parse
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")
WAIT_S = 10.0  # upper bound for one expected message; never a timing assertion


def ws_url(sb: SandboxProcess, path: str, token: str) -> str:
    return sb.url.replace("http://", "ws://") + f"{path}?token={token}"


def recv(ws: ClientConnection, mtype: str) -> dict[str, Any]:
    """The next message of type ``mtype``, skipping queue updates and other chatter."""
    while True:
        msg = json.loads(ws.recv(timeout=WAIT_S))
        if msg["type"] == mtype:
            return msg  # type: ignore[no-any-return]
        assert msg["type"] in ("queue", "welcome", "queued"), msg


def add_assistant(sb: SandboxProcess, aid: str, *skills: str) -> str:
    sb.admin(
        "PUT",
        f"/admin/assistants/{aid}",
        {"name": f"坐席{aid}", "password": "pw-" + aid * 4, "skills": list(skills)},
    )
    r = requests.post(
        sb.url + "/assist/login",
        json={"assistant_id": aid, "password": "pw-" + aid * 4},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@contextmanager
def console(sb: SandboxProcess, aid: str, *skills: str) -> Iterator[ClientConnection]:
    token = add_assistant(sb, aid, *skills)
    with connect(ws_url(sb, "/ws/assistant", token)) as ws:
        assert recv(ws, "welcome")["assistant"]["id"] == aid
        ws.send(json.dumps({"type": "ready", "ready": True}))
        yield ws


def help_request(
    sb: SandboxProcess, skill: str = "tax", priority: int = 0, item_code: str = "370100-TAX-01"
) -> dict[str, Any]:
    body = {
        "item_code": item_code,
        "flow_id": "tax.certificate",
        "step_id": "form",
        "skill": skill,
        "priority": priority,
        "context": {"devices": {"idcard": "ready"}, "link": "online", "elapsed_s": 42},
    }
    r = sb.signed_request("POST", "/api/v1/assist/requests", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def sb(sandbox: SandboxProcess) -> SandboxProcess:
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 0.5, "callback_after_s": 600, "kiosk_grace_s": 5},
    )
    return sandbox


def test_tokens_are_required_and_checked(sb: SandboxProcess) -> None:
    body = {"item_code": "x", "flow_id": "f", "step_id": "s"}
    assert (
        requests.post(sb.url + "/api/v1/assist/requests", json=body, timeout=10).status_code == 401
    )  # unsigned
    add_assistant(sb, "z1", "tax")
    bad = requests.post(
        sb.url + "/assist/login",
        json={"assistant_id": "z1", "password": "wrong-password"},
        timeout=10,
    )
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"
    req = help_request(sb)
    assert req["turn"]["username"].endswith(":" + req["sid"])
    for path, token in [
        ("/ws/assistant", "garbage"),
        ("/ws/assistant", req["token"]),
        ("/ws/kiosk", req["token"][:-2] + "xx"),
    ]:
        with pytest.raises(Exception) as info, connect(ws_url(sb, path, token)) as ws:
            ws.recv(timeout=WAIT_S)
        if isinstance(info.value, ConnectionClosed):
            assert info.value.rcvd is not None and info.value.rcvd.code == 4401


def test_route_decline_lapse_relay_transfer_and_end(sb: SandboxProcess) -> None:
    with (
        console(sb, "a1", "tax") as a1,
        console(sb, "a2", "tax", "general") as a2,
        console(sb, "a3", "general") as a3,
    ):
        req = help_request(sb, "tax")
        sid = req["sid"]
        with connect(ws_url(sb, "/ws/kiosk", req["token"])) as kiosk:
            # longest idle with the skill first: a1
            offer = recv(a1, "offer")
            assert offer["task"]["id"] == sid
            assert offer["task"]["context"]["step_id"] == "form"
            assert offer["task"]["context"]["item_name"] is None  # a code not in the catalogue
            a1.send(json.dumps({"type": "decline", "task": sid}))
            # re-offered to a2, who lets it lapse: withdrawn, a2 away, a1 excluded
            assert recv(a2, "offer")["task"]["id"] == sid
            assert recv(a2, "offer_withdrawn")["reason"] == "timeout"
            a2.send(json.dumps({"type": "ready", "ready": True}))
            assert recv(a2, "offer")["task"]["id"] == sid
            a2.send(json.dumps({"type": "accept", "task": sid}))
            session = recv(a2, "session")
            assert session["task"]["id"] == sid
            assert session["turn"]["username"].endswith(":" + sid)  # the console's own
            assert recv(kiosk, "assigned")["assistant"]["id"] == "a2"

            # rh/1 envelopes are relayed both ways, unparsed
            k_env = Envelope(sid, "kiosk", 1, "k-1", "snapshot", {"step_id": "form"}, rev=1)
            kiosk.send(json.dumps({"type": "rh", "data": encode(k_env)}))
            assert parse(recv(a2, "rh")["data"]) == k_env
            a_env = Envelope(sid, "assistant", 1, "a-1", "consent.request", {"scopes": ["fill"]})
            a2.send(json.dumps({"type": "rh", "data": encode(a_env)}))
            assert parse(recv(kiosk, "rh")["data"]) == a_env

            # transfer to the general skill: a2 is freed, a3 gets it (not a1: no skill)
            a2.send(json.dumps({"type": "transfer", "skill": "general"}))
            assert recv(a2, "session_ended")["reason"] == "transfer"
            assert recv(kiosk, "transferring")["reason"] == "transfer"
            assert recv(a3, "offer")["task"]["skill"] == "general"
            a3.send(json.dumps({"type": "accept", "task": sid}))
            assert recv(a3, "session")["task"]["id"] == sid
            assert recv(kiosk, "assigned")["assistant"]["id"] == "a3"
            a3.send(json.dumps({"type": "rh", "data": encode(a_env)}))
            assert parse(recv(kiosk, "rh")["data"]) == a_env

            a3.send(json.dumps({"type": "end"}))
            assert recv(kiosk, "ended")["reason"] == "assistant_ended"
            assert recv(a3, "session_ended")["task"] == sid
        # the request is over: its token no longer opens a socket
        tok = sb.signed_request("POST", f"/api/v1/assist/requests/{sid}/token")
        assert tok.status_code == 404


def test_nobody_with_the_skill_means_no_assistant_and_a_call_back(sb: SandboxProcess) -> None:
    with console(sb, "b1", "tax"):
        req = help_request(sb, "certificate")
        with connect(ws_url(sb, "/ws/kiosk", req["token"])) as kiosk:
            assert recv(kiosk, "no_assistant") == {"type": "no_assistant", "callback": True}


def test_busy_assistants_queue_the_request_then_offer_a_call_back(sb: SandboxProcess) -> None:
    sb.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 30, "callback_after_s": 0.5, "kiosk_grace_s": 5},
    )
    with console(sb, "c1", "yijianshi") as c1:
        first = help_request(sb, "yijianshi")
        with connect(ws_url(sb, "/ws/kiosk", first["token"])) as k1:
            c1.send(json.dumps({"type": "accept", "task": recv(c1, "offer")["task"]["id"]}))
            recv(k1, "assigned")
            second = help_request(sb, "yijianshi", priority=2)
            with connect(ws_url(sb, "/ws/kiosk", second["token"])) as k2:
                assert recv(k2, "queued")["position"] == 1
                assert recv(k2, "callback_offer") == {"type": "callback_offer"}
                k2.send(json.dumps({"type": "callback", "accept": True}))
                assert recv(k2, "ended")["reason"] == "callback"


def test_garbage_frames_are_answered_not_fatal(sb: SandboxProcess) -> None:
    with console(sb, "d1", "tax") as d1:
        frames = ["not json", "[]", '{"type": 5}', '{"type": "fly"}']
        for frame in frames:
            d1.send(frame)
        errors = [recv(d1, "error")["error"] for _ in frames]
        assert errors == ["bad_message", "bad_message", "bad_message", "unknown_type"]
        d1.send(json.dumps({"type": "rh", "data": "x" * 20000}))  # over 16 KiB: dropped
        d1.send(json.dumps({"type": "ready", "ready": True}))
        assert recv(d1, "queue")["type"] == "queue"


def test_the_offer_names_the_service_from_the_catalogue(sb: SandboxProcess) -> None:
    item = sb.signed_request("GET", "/api/v1/catalog").json()["items"][0]
    with console(sb, "n1", "tax") as a:
        req = help_request(sb, "tax", item_code=item["code"])
        with connect(ws_url(sb, "/ws/kiosk", req["token"])):  # offered once the kiosk is on
            offer = recv(a, "offer")
        assert offer["task"]["id"] == req["sid"]
        assert offer["task"]["context"]["item_name"] == item["name"]
        assert offer["task"]["context"]["item_code"] == item["code"]
