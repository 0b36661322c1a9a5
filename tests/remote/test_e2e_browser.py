"""End to end on loopback: the real sandbox, the kiosk's remote-help session (aiortc, no Qt)
and the assistant console in headless Debian Chromium driven by Playwright with a fake
camera and microphone. The request is routed; video is decoded on both sides (getStats and a
pixel check in the browser, the mean colour of the fake camera at the kiosk), audio arrives
both ways; the citizen consents, the assistant fills a field, the kiosk shows it; the
assistant pushes a PNG through the page's file input and push button, the kiosk receives it
verified (the page's upload is the bytes the kiosk gets, by SHA-256) and the page shows it
delivered; the citizen stops control, the session ends, and the audit chains reconcile.
(The kiosk's Qt screens are not part of this test.)"""

from __future__ import annotations

import hashlib
import queue
import struct
import zlib
from pathlib import Path
from typing import Any

from aiortc.mediastreams import AudioStreamTrack
from av import VideoFrame
from playwright.sync_api import Browser, FilePayload

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.client import RemoteHelp
from kiosk.remote.media import MediaConfig, SyntheticCamera
from kiosk.remote.notices import (
    AssistStatus,
    ConsentRequested,
    DocumentOffered,
    DocumentReceived,
)
from offline.client import PlatformClient
from tests.remote.browser import CENTRE_IS_RED, FRAMES_DECODED, RED, WAIT_MS, is_green, login
from tests.remote.test_signalling import add_assistant
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")


def next_of(posted: queue.Queue[object], kind: type, pred: Any = None) -> Any:
    while True:
        item = posted.get(timeout=WAIT_MS / 1000)
        if isinstance(item, kind) and (pred is None or pred(item)):
            return item


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small, valid PNG of one colour (what an assistant would push: a picture)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def mean_rgb(frame: VideoFrame) -> tuple[int, ...]:
    arr = frame.to_ndarray(format="rgb24")
    return tuple(int(c) for c in arr.reshape(-1, 3).mean(axis=0))


def test_kiosk_and_browser_console_end_to_end(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 60, "callback_after_s": 600, "kiosk_grace_s": 10},
    )
    add_assistant(sandbox, "e2e", "tax")
    page = login(browser, sandbox, "e2e")

    posted: queue.Queue[object] = queue.Queue()
    kiosk_colours: list[tuple[int, ...]] = []
    config = MediaConfig(width=320, height=240, fps=15)
    request = ev.CallAssistant(
        request_id=21,
        mode="remote_video",
        item_code="370100-TAX-01",
        flow_id="tax.certificate",
        step_id="form1",
    )
    allow = masking.AllowList.of([("tax.certificate", "form1", "amount")])
    helper = RemoteHelp(
        PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=10),
        posted.put,
        request,
        allow=allow,
        audit_dir=tmp_path / "audit",
        skill="tax",
        media=config,
        camera=lambda c: SyntheticCamera(c, RED),
        microphone=AudioStreamTrack,
        on_frame=lambda f: kiosk_colours.append(mean_rgb(f)),
    )
    helper.view_changed(view(field("amount"), field("name", "张三")))
    helper.start()
    try:
        page.click("text=接听", timeout=WAIT_MS)
        assert next_of(posted, ev.AssistantJoined) == ev.AssistantJoined(request_id=21)

        # video, browser side: decoded frames and the kiosk's red in the middle
        page.wait_for_function(FRAMES_DECODED, timeout=WAIT_MS)
        page.wait_for_function(CENTRE_IS_RED, timeout=WAIT_MS)
        # video, kiosk side: the browser's fake camera is green
        page.wait_for_timeout(200)
        deadline = 50
        while not kiosk_colours and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert is_green(kiosk_colours[-1]), kiosk_colours[-1]
        # audio both ways: the browser receives the kiosk's Opus, the kiosk decodes the
        # fake microphone's
        page.wait_for_function(
            "async () => (await inbound('audio'))?.packetsReceived > 0", timeout=WAIT_MS
        )
        media = helper.media
        assert media is not None
        while not media.stats.audio_frames_received and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert media.stats.audio_frames_received > 0

        # masked live view: name is masked, amount (allow-listed) is not
        page.wait_for_selector("#fields >> text=已填，不可见", timeout=WAIT_MS)
        assert "张三" not in page.inner_text("#in-session")

        # consent, then the assistant fills a field
        page.click("[data-scope=fill]")
        assert next_of(posted, ConsentRequested).scopes == {"fill"}
        helper.grant({"fill"})
        page.wait_for_selector("#holder >> text=坐席（已授权）", timeout=WAIT_MS)
        row = page.locator("#fields .field").filter(has_text="amount")
        row.locator("input").fill("128.50")
        row.locator("button").click()
        assert next_of(posted, ev.Input) == ev.Input(field="amount", value="128.50")
        helper.view_changed(view(field("amount", "128.50"), field("name", "张三")))
        page.wait_for_selector("#fields >> text=128.50", timeout=WAIT_MS)  # the kiosk shows it
        page.wait_for_selector("#last-result >> text=已执行", timeout=WAIT_MS)

        # a document pushed from the page's file input: uploaded to the platform by the
        # page, offered by id and hash, fetched and verified by the kiosk
        page.click("[data-scope=document]")
        assert next_of(posted, ConsentRequested).scopes == {"document"}
        helper.grant({"document"})
        page.wait_for_selector("#scopes >> text=推送文档", timeout=WAIT_MS)
        picture = png(8, 6, (0, 120, 200))
        digest = hashlib.sha256(picture).hexdigest()
        upload: FilePayload = {"name": "指南.png", "mimeType": "image/png", "buffer": picture}
        page.set_input_files("#doc-file", files=[upload])
        page.fill("#doc-title", "办事指南")
        page.click("#push")
        offered = next_of(posted, DocumentOffered)
        assert (offered.sha256, offered.title) == (digest, "办事指南")
        got = next_of(posted, DocumentReceived)
        assert (got.doc_id, got.title, got.content_type) == (
            offered.doc_id,
            "办事指南",
            "image/png",
        )
        assert hashlib.sha256(got.data).hexdigest() == digest and got.data == picture
        page.wait_for_selector("#doc-status >> text=群众端已收到文档，校验通过", timeout=WAIT_MS)

        # the citizen stops control
        helper.stop()
        page.wait_for_selector("#holder >> text=群众", timeout=WAIT_MS)
        next_of(posted, AssistStatus, lambda s: s.holder == "citizen" and not s.scopes)
        console_records = page.evaluate("rhSession().audit.records")

        page.click("#end")
        assert next_of(posted, ev.AssistantLeft) == ev.AssistantLeft(request_id=21)
        assert helper.join(WAIT_MS / 1000)
    finally:
        helper.end("test_over")
        helper.join(10)
        page.close()
    (path,) = (tmp_path / "audit").glob("*.jsonl")
    rec = audit.reconcile(audit.load(path), console_records)
    assert rec.ok, rec
    assert len([r for r in console_records if r["event"] == "intent.sent"]) == 2
    kiosk_events = [(r["event"], r["data"].get("doc_id")) for r in audit.load(path)]
    assert ("document.delivered", offered.doc_id) in kiosk_events


def test_transfer_between_two_browser_consoles(
    sandbox: SandboxProcess, browser: Browser, tmp_path: Path
) -> None:
    """The first assistant transfers to the 一件事 skill: the second console is offered the
    request, the kiosk offers video again, and the new console gets the masked view."""
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 60, "callback_after_s": 600, "kiosk_grace_s": 10},
    )
    add_assistant(sandbox, "tx1", "tax")
    add_assistant(sandbox, "tx2", "yijianshi")
    first, second = login(browser, sandbox, "tx1"), login(browser, sandbox, "tx2")
    posted: queue.Queue[object] = queue.Queue()
    config = MediaConfig(width=320, height=240, fps=15)
    helper = RemoteHelp(
        PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=10),
        posted.put,
        ev.CallAssistant(
            request_id=31,
            mode="remote_video",
            item_code="x",
            flow_id="tax.certificate",
            step_id="form1",
        ),
        allow=masking.AllowList(),
        audit_dir=tmp_path,
        skill="tax",
        media=config,
        camera=lambda c: SyntheticCamera(c, RED),
    )
    helper.view_changed(view(field("amount"), field("name", "张三")))
    helper.start()
    try:
        first.click("text=接听", timeout=WAIT_MS)
        next_of(posted, ev.AssistantJoined)
        first.wait_for_function(FRAMES_DECODED, timeout=WAIT_MS)
        first.select_option("#transfer-skill", "yijianshi")
        first.click("#transfer")
        first.wait_for_selector("text=协助已结束（transfer）", timeout=WAIT_MS)
        second.click("text=接听", timeout=WAIT_MS)
        second.wait_for_function(FRAMES_DECODED, timeout=WAIT_MS)
        second.wait_for_selector("#fields >> text=已填，不可见", timeout=WAIT_MS)
        assert "张三" not in second.inner_text("#in-session")
        second.click("#end")
        assert next_of(posted, ev.AssistantLeft) == ev.AssistantLeft(request_id=31)
    finally:
        helper.end("test_over")
        helper.join(10)
        first.close()
        second.close()
