"""Documents the assistant pushes, against the real sandbox: the console uploads the file to the
platform and offers it by id and SHA-256; the kiosk fetches it over the signed client, checks
the hash and the size, and hands only verified bytes to the app. Refusals (tampered hash, too
large, offline) reach the app and the assistant and are audited."""

from __future__ import annotations

import hashlib
import json
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import connect

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.client import RemoteHelp
from kiosk.remote.notices import (
    ConsentRequested,
    DocumentOffered,
    DocumentReceived,
    DocumentRefused,
)
from offline.client import PlatformClient
from offline.errors import PlatformRejectedError, PlatformTooLargeError
from tests.remote.test_client import WAIT_S, Console, next_of
from tests.remote.test_signalling import add_assistant, recv, ws_url
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")
LIMIT = 64 * 1024
# A small but real PDF header and body (the kiosk does not parse it; the app shows it).
PDF = b"%PDF-1.4\n% \xe5\x8a\x9e\xe4\xba\x8b\xe6\x8c\x87\xe5\x8d\x97\n" + b"0" * 2000 + b"\n%%EOF\n"


@dataclass
class Session:
    helper: RemoteHelp
    console: Console
    posted: queue.Queue[object]
    sid: str
    token: str
    audit_dir: Path
    url: str

    def upload(self, data: bytes, title: str = "办事指南", ctype: str = "application/pdf") -> Any:
        return requests.post(
            f"{self.url}/assist/sessions/{self.sid}/documents",
            params={"title": title},
            data=data,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": ctype},
            timeout=10,
        )

    def offer(self, doc_id: str, sha256: str, title: str = "办事指南") -> None:
        self.console.send("intent.document", {"doc_id": doc_id, "sha256": sha256, "title": title})
        assert self.console.expect("intent.result").body["result"] == "applied"
        assert next_of(self.posted, DocumentOffered).doc_id == doc_id

    def outcome(self) -> DocumentReceived | DocumentRefused:
        while True:
            item = self.posted.get(timeout=WAIT_S)
            if isinstance(item, DocumentReceived | DocumentRefused):
                return item

    def audit_records(self) -> list[dict[str, Any]]:
        (path,) = self.audit_dir.glob("*.jsonl")
        return audit.load(path)


@pytest.fixture
def client(sandbox: SandboxProcess) -> Iterator[PlatformClient]:
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 30, "callback_after_s": 600, "kiosk_grace_s": 5},
    )
    c = PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=5)
    yield c
    c.close()


@contextmanager
def session(sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path) -> Iterator[Session]:
    """A help session with the ``document`` scope granted by the citizen."""
    posted: queue.Queue[object] = queue.Queue()
    token = add_assistant(sandbox, "d1", "tax")
    request = ev.CallAssistant(
        request_id=21, mode="remote_video", item_code="x", flow_id="tax.certificate", step_id="f"
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
            max_document_bytes=LIMIT,
        )
        helper.view_changed(view(field("amount")))
        helper.start()
        try:
            offer = recv(ws, "offer")["task"]
            ws.send(json.dumps({"type": "accept", "task": offer["id"]}))
            recv(ws, "session")
            c = Console(ws, offer["id"])
            c.expect("snapshot")
            c.send("consent.request", {"scopes": ["document"]})
            assert next_of(posted, ConsentRequested).scopes == {"document"}
            helper.grant({"document"})
            assert c.expect("control.state").body["scopes"] == ["document"]
            yield Session(helper, c, posted, offer["id"], token, tmp_path, sandbox.url)
        finally:
            helper.end("test_over")
            helper.join(WAIT_S)


def test_a_pushed_document_reaches_the_app_verified(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    with session(sandbox, client, tmp_path) as s:
        r = s.upload(PDF)
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["sha256"] == hashlib.sha256(PDF).hexdigest() and doc["size"] == len(PDF)
        s.offer(doc["doc_id"], doc["sha256"])
        got = s.outcome()
        assert isinstance(got, DocumentReceived)
        assert (got.data, got.content_type, got.title) == (PDF, "application/pdf", "办事指南")
        assert "%PDF" not in repr(got)  # the bytes never show in a log line
        result = s.console.expect("document.result").body
        assert result == {"doc_id": doc["doc_id"], "result": "delivered", "reason": ""}
    delivered = [r for r in s.audit_records() if r["event"] == "document.delivered"]
    assert [r["data"] for r in delivered] == [{"doc_id": doc["doc_id"], "size": len(PDF)}]


def test_a_tampered_hash_is_refused_and_the_assistant_is_told(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    with session(sandbox, client, tmp_path) as s:
        doc = s.upload(PDF).json()
        forged = hashlib.sha256(PDF + b"x").hexdigest()  # not the bytes the platform holds
        s.offer(doc["doc_id"], forged)
        got = s.outcome()
        assert isinstance(got, DocumentRefused) and got.reason == "hash_mismatch"
        result = s.console.expect("document.result").body
        assert (result["result"], result["reason"]) == ("refused", "hash_mismatch")
        assert not any(isinstance(x, DocumentReceived) for x in list(s.posted.queue))
    refused = [r["data"] for r in s.audit_records() if r["event"] == "document.refused"]
    assert refused == [{"doc_id": doc["doc_id"], "reason": "hash_mismatch"}]


def test_a_document_over_the_kiosk_limit_is_refused(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    big = PDF + b"1" * LIMIT
    with session(sandbox, client, tmp_path) as s:
        doc = s.upload(big).json()
        s.offer(doc["doc_id"], doc["sha256"])  # the hash is right: the size alone refuses it
        got = s.outcome()
        assert isinstance(got, DocumentRefused) and got.reason == "too_large"
        assert s.console.expect("document.result").body["reason"] == "too_large"
    assert {"doc_id": doc["doc_id"], "reason": "too_large"} in [
        r["data"] for r in s.audit_records() if r["event"] == "document.refused"
    ]


def test_an_offline_platform_refuses_the_document(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    with session(sandbox, client, tmp_path) as s:
        doc = s.upload(PDF).json()
        sandbox.set_faults(outage=True)  # /api/* answers 503; the help socket stays up
        try:
            s.offer(doc["doc_id"], doc["sha256"])
            got = s.outcome()
        finally:
            sandbox.clear_faults()
        assert isinstance(got, DocumentRefused) and got.reason == "offline"
        assert s.console.expect("document.result").body["reason"] == "offline"


def test_the_platform_serves_a_document_only_to_its_kiosk_and_takes_it_only_from_its_assistant(
    sandbox: SandboxProcess, client: PlatformClient, tmp_path: Path
) -> None:
    with session(sandbox, client, tmp_path) as s:
        doc = s.upload(PDF).json()
        # the request's own kiosk: the bytes and their hash
        got = client.assist_document(s.sid, doc["doc_id"], max_bytes=LIMIT)
        assert got.content == PDF
        # the client's cap holds for any answer, not only in the help session
        with pytest.raises(PlatformTooLargeError):
            client.assist_document(s.sid, doc["doc_id"], max_bytes=100)
        other = PlatformClient(sandbox.url, "kiosk-other", sandbox.enrol("kiosk-other"))
        try:
            with pytest.raises(PlatformRejectedError) as info:
                other.assist_document(s.sid, doc["doc_id"], max_bytes=LIMIT)
            assert info.value.status_code == 404
        finally:
            other.close()
        assert s.upload(PDF, ctype="text/html").status_code == 415
        no_token = requests.post(
            f"{sandbox.url}/assist/sessions/{s.sid}/documents",
            params={"title": "x"},
            data=PDF,
            headers={"Content-Type": "application/pdf"},
            timeout=10,
        )
        assert no_token.status_code == 401
        stranger = add_assistant(sandbox, "d2", "general")
        r = requests.post(
            f"{sandbox.url}/assist/sessions/{s.sid}/documents",
            params={"title": "x"},
            data=PDF,
            headers={"Authorization": f"Bearer {stranger}", "Content-Type": "application/pdf"},
            timeout=10,
        )
        assert r.status_code == 404
