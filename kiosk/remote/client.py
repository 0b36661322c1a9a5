"""One remote-help session from the kiosk: asks the platform for help, keeps the signalling
WebSocket, and drives :class:`~kiosk.remote.protocol.KioskProtocol` (no Qt).

Threading contract
------------------
:meth:`RemoteHelp.start` starts one thread named ``remote-help`` that runs an asyncio loop.
The platform call that creates the request (signed, :class:`offline.client.PlatformClient`)
and everything on the socket run there; the protocol object is touched only on that loop.
The citizen's answers and the flow's views come from the GUI thread through the thread-safe
methods :meth:`view_changed`, :meth:`grant`, :meth:`deny`, :meth:`stop`, :meth:`end` and
:meth:`accept_callback`, which hand the work to the loop and return at once. Everything for
the app and the flow goes out through ``post`` (thread-safe, given by the runtime): flow
results (``AssistantJoined``, ``AssistantLeft``, ``EffectFailed(reason="no_assistant")``,
the assistant's ``Input`` / ``Press``) and the notices of :mod:`kiosk.remote.notices`.

Wire: ``POST /api/v1/assist/requests`` then ``/ws/kiosk?token=…`` carrying platform frames
(``queued``, ``assigned``, ``transferring``, ``callback_offer``, ``no_assistant``, ``ended``)
and ``{"type": "rh", "data": <rh/1 envelope>}`` (see ``sandbox/assist.py`` and
docs/remote-help.md). With a :class:`~kiosk.remote.media.MediaConfig`, every assistant who
joins gets a WebRTC offer (``media.offer`` envelope; TURN credentials from the help
request); once the ``rh/1`` data channel is open, envelopes go there instead of the socket.
Remote video frames go to ``on_frame`` on the remote-help thread.

Audio: ``microphone`` and ``speaker`` are factories (:func:`kiosk.remote.audio.open_microphone`,
:class:`kiosk.remote.audio.Speaker`) called off the loop each time media starts. One that
raises leaves that direction out (``audio_status`` says ``unavailable``, the log says
which role and the error type); the call and its video go on, and the offer's audio
direction tells the console.

Documents: on ``DocumentOffered`` (an ``intent.document`` the citizen's ``document`` consent
allowed) the session fetches the file from the platform over the signed client
(``GET /api/v1/assist/requests/{sid}/documents/{doc_id}``, at most ``max_document_bytes``,
streamed) on a worker thread, and :meth:`KioskProtocol.document_fetched` checks its SHA-256
against the offer: the app gets ``DocumentReceived`` with the verified bytes, or
``DocumentRefused``; the assistant gets ``document.result``; both go in the audit chain.

Audit upload: with an ``outbox``, the session's audit chain goes into it at session end
(kind ``audit``, :func:`kiosk.remote.audit.queue_chain`, one idempotency key per batch:
``rh-audit-<sid>-<n>``), so the sender delivers it to ``/api/v1/audit-events`` whenever the
link allows; the file under ``audit_dir`` stays as the local copy, with a ``<sid>.queued``
marker. A chain left without the marker (the kiosk died) is queued at the next start.

Personal data: the assistant's typed values pass through to ``post`` only; nothing is
logged but message types. The audit log (:mod:`kiosk.remote.audit`) holds ids and results.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from config.logs import Safe
from flows import events as ev
from flows.views import StepView
from kiosk.remote import masking
from kiosk.remote.audit import AuditFile, file_time, mark_queued, queue_chain
from kiosk.remote.envelope import EnvelopeError
from kiosk.remote.notices import CallbackOffered, DocumentOffered
from kiosk.remote.protocol import Deliver, KioskProtocol, MediaAnswer, Output, Send
from offline.client import PlatformClient
from offline.errors import (
    OutboxError,
    PlatformError,
    PlatformTooLargeError,
    PlatformUnavailableError,
)

if TYPE_CHECKING:  # aiortc is imported only when a session has media (it loads slowly)
    from aiortc.mediastreams import MediaStreamTrack
    from av import VideoFrame

    from kiosk.remote.audio import Speaker
    from kiosk.remote.media import KioskMedia
    from kiosk.remote.media_config import MediaConfig
    from offline.outbox import Outbox

log = logging.getLogger(__name__)

Post = Callable[[object], None]
_T = TypeVar("_T")
TICK_S = 1.0
#: The largest document the kiosk takes from the assistant (a few pages of PDF).
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


class RemoteHelp:
    def __init__(
        self,
        client: PlatformClient,
        post: Post,
        request: ev.CallAssistant,
        *,
        allow: masking.AllowList,
        audit_dir: Path,
        skill: str = "general",
        priority: int = 0,
        context: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        media: MediaConfig | None = None,
        camera: Callable[[MediaConfig], MediaStreamTrack] | None = None,
        microphone: Callable[[], MediaStreamTrack] | None = None,
        on_frame: Callable[[VideoFrame], None] | None = None,
        speaker: Callable[[], Speaker] | None = None,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        outbox: Outbox | None = None,
    ) -> None:
        self.client = client
        self.post = post
        self.request = request
        self.allow = allow
        self.audit_dir = audit_dir
        self.skill = skill
        self.priority = priority
        self.context = dict(context or {})
        self.clock = clock
        self.media_config = media
        self.camera = camera
        self.microphone = microphone
        self.speaker = speaker
        #: "ok" | "unavailable" per audio role asked for, as of the last media start
        self.audio_status: dict[str, str] = {}
        self.on_frame = on_frame
        self.max_document_bytes = max_document_bytes
        self.outbox = outbox
        self._fetches: set[asyncio.Task[None]] = set()
        self.media: KioskMedia | None = None
        self._media_tasks: set[asyncio.Task[None]] = set()
        self.sid: str | None = None
        self.proto: KioskProtocol | None = None
        # made now so calls before start() queue up on it and run once it runs
        self._loop: asyncio.AbstractEventLoop | None = asyncio.new_event_loop()
        self._ws: ClientConnection | None = None
        self._thread: threading.Thread | None = None
        # asyncio events bind to the running loop on first use (3.10+): safe to make here
        self._up = asyncio.Event()  # protocol made and socket open (or the attempt failed)
        self._done = asyncio.Event()

    # ------------------------------------------------------------------ GUI-thread API

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="remote-help", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def view_changed(self, view: StepView) -> None:
        self._call(lambda p, now: p.view_changed(view, now))

    def grant(self, scopes: Iterable[str]) -> None:
        chosen = frozenset(scopes)
        self._call(lambda p, now: p.grant(chosen, now))

    def deny(self) -> None:
        self._call(lambda p, now: p.deny(now))

    def revoke(self, scopes: Iterable[str]) -> None:
        chosen = frozenset(scopes)
        self._call(lambda p, now: p.revoke(chosen, now))

    def stop(self) -> None:
        """The banner's stop button: revoke every scope (the call goes on)."""
        self._call(lambda p, now: p.stop(now))

    def end(self, reason: str = "citizen") -> None:
        self._call(lambda p, now: p.end(reason, now), close=True)

    def accept_callback(self) -> None:
        self._platform({"type": "callback", "accept": True})

    # ------------------------------------------------------------------ plumbing

    def _call(
        self, fn: Callable[[KioskProtocol, float], list[Output]], *, close: bool = False
    ) -> None:
        """Run ``fn`` on the loop once the session is up (calls keep their order)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def run() -> None:
            await self._up.wait()
            if self.proto is not None:
                await self._handle(fn(self.proto, self.clock()))
            if close:
                await self._platform_async({"type": "end"})
                self._done.set()

        with contextlib.suppress(RuntimeError):  # the loop is already gone
            asyncio.run_coroutine_threadsafe(run(), loop)

    def _platform(self, message: dict[str, Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._platform_async(message), loop)

    async def _platform_async(self, message: dict[str, Any]) -> None:
        if self._ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await self._ws.send(json.dumps(message, ensure_ascii=False))

    async def _handle(self, outputs: list[Output]) -> None:
        for o in outputs:
            if isinstance(o, Send):
                # the data channel when it is up, else the platform socket (same envelope)
                if self.media is None or not self.media.send(o.text):
                    await self._platform_async({"type": "rh", "data": o.text})
            elif isinstance(o, MediaAnswer):
                if self.media is not None:
                    await self.media.accept_answer({"type": "answer", "sdp": o.sdp})
            elif isinstance(o, Deliver):
                self.post(o.event)
            else:
                self.post(o)
                if isinstance(o, DocumentOffered):
                    task = asyncio.ensure_future(self._fetch_document(o))
                    self._fetches.add(task)
                    task.add_done_callback(self._fetches.discard)

    async def _fetch_document(self, offer: DocumentOffered) -> None:
        """Fetch an offered document on a worker thread; the protocol checks and reports it."""
        data, content_type, failure = None, "", None
        try:
            got = await asyncio.to_thread(
                self.client.assist_document,
                offer.sid,
                offer.doc_id,
                max_bytes=self.max_document_bytes,
            )
            data, content_type = got.content, got.content_type
        except PlatformTooLargeError:
            failure = "too_large"
        except PlatformUnavailableError:
            failure = "offline"
        except PlatformError as err:
            failure = "not_found" if err.status_code == 404 else "failed"
            log.info("document fetch refused", extra={"error": Safe(err.code)})
        if self.proto is not None:
            await self._handle(
                self.proto.document_fetched(
                    offer, self.clock(), data=data, content_type=content_type, failure=failure
                )
            )

    def _main(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.run_until_complete(self._session())
        finally:
            loop.close()

    def _fail(self, reason: str) -> None:
        self.post(
            ev.EffectFailed(
                request_id=self.request.request_id, effect=self.request.name, reason=reason
            )
        )

    async def _session(self) -> None:
        body = {
            "item_code": self.request.item_code or "-",
            "flow_id": self.request.flow_id or "-",
            "step_id": self.request.step_id or "-",
            "skill": self.skill,
            "priority": self.priority,
            "context": self.context,
        }
        try:
            answer = await asyncio.to_thread(
                self.client.request, "POST", "/api/v1/assist/requests", json_body=body
            )
        except PlatformError as err:
            log.warning("help request failed", extra={"error": Safe(err.code)})
            self._up.set()
            self._fail("no_assistant")
            return
        self.sid = str(answer.body["sid"])
        self.audit_dir.mkdir(parents=True, exist_ok=True)
        audit = AuditFile(self.audit_dir / f"{self.sid}.jsonl")
        self.proto = KioskProtocol(self.sid, self.allow, audit, request_id=self.request.request_id)
        base = self.client.base_url.replace("https://", "wss://").replace("http://", "ws://")
        url = f"{base}{answer.body['ws']}?token={answer.body['token']}"
        turn = answer.body.get("turn") or {}
        if self.media_config is not None and turn.get("urls"):
            ice = {k: turn[k] for k in ("urls", "username", "credential")}
            self.media_config = dataclasses.replace(
                self.media_config, ice_servers=(*self.media_config.ice_servers, ice)
            )
        try:
            async with connect(url, open_timeout=10, max_size=64 * 1024) as ws:
                self._ws = ws
                self._up.set()
                ticker = asyncio.create_task(self._tick())
                reader = asyncio.create_task(self._read(ws))
                done_wait = asyncio.create_task(self._done.wait())
                await asyncio.wait({reader, done_wait}, return_when=asyncio.FIRST_COMPLETED)
                for task in (ticker, reader, done_wait):
                    task.cancel()
        except (WebSocketException, OSError) as err:
            log.warning("help socket failed", extra={"error": Safe(type(err).__name__)})
        finally:
            self._ws = None
            self._up.set()
        if self.proto.phase != "ended":
            await self._handle(self.proto.end("link_lost", self.clock(), actor="platform"))
        if self._fetches:  # their outcome still goes in the audit chain
            _, late = await asyncio.wait(set(self._fetches), timeout=self.client.timeout_s + 1)
            for task in late:  # not waited for any longer: the file's outcome is unknown
                task.cancel()
        await self._stop_media()
        if self.outbox is not None:
            await asyncio.to_thread(self._upload_audit, self.sid, audit)

    def _upload_audit(self, sid: str, audit: AuditFile) -> None:
        """Queue the session's audit chain for the platform (outbox writes are fsynced),
        then mark the file queued; without the mark the next kiosk start queues it
        (:func:`kiosk.remote.audit.recover_leftovers`), under the same keys."""
        assert self.outbox is not None
        records = audit.chain.records
        if not records:  # no file either
            return
        try:
            queue_chain(self.outbox, sid, records, file_time(audit.path))
            mark_queued(audit.path, {"records": len(records), "by": "session_end"})
        except (OutboxError, OSError) as err:  # the file stays; the next start queues it
            log.warning("help audit not queued", extra={"error": Safe(type(err).__name__)})

    async def _start_media(self) -> None:
        """A (new) assistant joined: offer video and the data channel."""
        if self.media_config is None or self.proto is None:
            return
        from kiosk.remote.media import KioskMedia, SyntheticCamera

        await self._stop_media()
        config = self.media_config
        camera = self.camera(config) if self.camera else SyntheticCamera(config, (40, 40, 40))
        microphone = await self._open_audio("microphone", self.microphone)
        speaker = await self._open_audio("speaker", self.speaker)
        self.media = KioskMedia(
            config,
            camera,
            microphone,
            on_message=self._channel_message,
            on_frame=self.on_frame,
            speaker=speaker,
            receive_audio=self.speaker is None or speaker is not None,
        )
        offer = await self.media.offer()
        await self._handle(self.proto.media_offer(offer["sdp"], self.clock()))

    async def _open_audio(self, role: str, factory: Callable[[], _T] | None) -> _T | None:
        """Open one audio device off the loop; a failure leaves that direction silent."""
        if factory is None:
            return None
        try:
            device = await asyncio.to_thread(factory)
        except Exception as err:  # any device trouble: the call goes on without it
            log.warning(
                "help audio device not opened",
                extra={"role": Safe(role), "error": Safe(type(err).__name__)},
            )
            self.audio_status[role] = "unavailable"
            return None
        self.audio_status[role] = "ok"
        return device

    async def _stop_media(self) -> None:
        media, self.media = self.media, None
        if media is not None:
            await media.close()

    def _channel_message(self, text: str) -> None:
        proto = self.proto
        if proto is None:
            return

        async def run() -> None:
            try:
                await self._handle(proto.receive(text, self.clock()))
            except EnvelopeError as err:
                log.info("rh/1 message refused", extra={"reason": Safe(err.reason)})

        task = asyncio.ensure_future(run())
        self._media_tasks.add(task)
        task.add_done_callback(self._media_tasks.discard)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            if self.proto is not None:
                await self._handle(self.proto.tick(self.clock()))

    async def _read(self, ws: ClientConnection) -> None:
        assert self.proto is not None
        proto = self.proto
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind = msg.get("type") if isinstance(msg, dict) else None
            now = self.clock()
            if kind == "rh" and isinstance(msg.get("data"), str):
                try:
                    await self._handle(proto.receive(msg["data"], now))
                except EnvelopeError as err:
                    log.info("rh/1 message refused", extra={"reason": Safe(err.reason)})
            elif kind == "assigned":
                await self._handle(proto.assistant_joined(now))
                await self._start_media()
            elif kind == "callback_offer":
                self.post(CallbackOffered(proto.sid))
            elif kind in ("no_assistant", "ended"):
                reason = "no_assistant" if kind == "no_assistant" else str(msg.get("reason"))
                await self._handle(proto.end(reason[:40], now, actor="platform"))
                return
            elif kind == "transferring":
                await self._handle(proto.assistant_changed(now))
