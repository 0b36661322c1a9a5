"""The kiosk's composition root without Qt: devices, platform link, outbox and catalogue,
and the one place where flow effects are carried out.

Threading contract
------------------
* :meth:`Runtime.carry_out` is called on the GUI thread with the effects the flow engine
  returned. It never blocks: a device effect is a command queued on that device's worker
  (devices.base); a platform effect is a call on the ``platform`` thread pool; an outbox
  effect is a durable write on the ``platform`` pool too (it fsyncs).
* Every answer goes back through ``post(event)`` — a thread-safe callable given by the
  caller (the Qt app's :class:`~kiosk.app.qt_bridge.EventBridge`, or a queue in tests). The
  runtime posts flow result events (``flows.events.Result`` subclasses, carrying the request
  id of the effect they answer) and the state changes the screen shows (device status, link
  state, outbox window), as they are.
* Waiting for the citizen (a card to be placed, a code to be scanned) is an *armed* request:
  the device event that completes it arrives on the device's worker and is turned into the
  flow's result event there. ``CancelRequest`` disarms it; an answer that arrives after that
  is dropped.

Personal data passes through here on its way between devices, platform and flow; nothing
is kept once posted, except the armed requests' ids and the pages the document camera took
this session (:mod:`kiosk.captured`, in memory, wiped at session end; they leave in the
case body as ``content_b64``). Nothing personal is logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from config.logs import Safe
from config.schema import Settings
from devices.base import Device, DeviceEvent, DeviceState, StatusChanged
from devices.errors import DeviceError
from devices.registry import build_device
from flows import events as ev
from flows.catalogue import CatalogItem, Catalogue, availability, parse_catalogue
from flows.catalogue import shipped_catalogue as flows_shipped_catalogue
from flows.loader import shipped_flows
from flows.model import Availability, FlowDef
from kiosk.captured import MAX_CASE_BODY, CapturedPages, Page, PageBudgetError
from offline.catalog_cache import CatalogCache
from offline.client import PlatformClient
from offline.errors import PlatformError, PlatformRejectedError, PlatformUnavailableError
from offline.link import LinkState
from offline.outbox import ItemDead, ItemDelivered, Outbox, OutboxEvent, WindowStatus
from offline.sender import Sender

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
KIOSK_VERSION = "0.1.0"
#: Device roles the flows name (flows.catalogue); config device names use the same words.
ROLES = ("idcard", "scanner", "camera", "receipt_printer", "a4_printer", "document_camera")
Post = Callable[[object], None]


@dataclass(frozen=True)
class CatalogueChanged:
    """The catalogue in use changed (fetched from the platform, or loaded from the cache)."""

    source: str  # "platform" | "cache" | "shipped"
    count: int


def _reason_of(err: BaseException) -> str:
    """Map a device or platform failure to the flow's failure reasons (flows.engine)."""
    if isinstance(err, PlatformUnavailableError):
        return "offline"
    if isinstance(err, PlatformRejectedError) and err.status_code == 404:
        return "not_found"
    if isinstance(err, DeviceError):
        if err.code in ("no_card", "sw3_80"):
            return "no_card"
        if err.code == "timeout":
            return "timeout"
        if "paper" in err.code:
            return "paper_out"
        return err.code
    return "failed"


def _capture_reason(err: BaseException) -> str:
    """Map a document camera failure to the reasons the materials step tells apart."""
    code = getattr(err, "code", "")
    if code in ("no_document", "too_dark", "blurred"):
        return str(code)
    if code == "image_too_large":
        return "too_large"
    if code in ("timeout", "cancelled"):
        return str(code)
    return "device"


class Runtime:
    """Devices + platform link + outbox + catalogue; carries out flow effects."""

    def __init__(
        self,
        settings: Settings,
        post: Post,
        *,
        speak: Callable[[str, str], None] | None = None,
        secret: str | None = None,
        submit_wait_s: float = 3.0,
        language: Callable[[], str] = lambda: "zh_CN",
    ) -> None:
        self.settings = settings
        self._post = post
        self._speak = speak or (lambda _text, _lang: None)
        self._language = language
        self.submit_wait_s = submit_wait_s
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="platform")
        self.flows: Mapping[str, FlowDef] = shipped_flows()
        self.devices: dict[str, Device] = {}
        for name, cfg in settings.devices.items():
            if cfg.enabled:
                self.devices[name] = build_device(
                    name, cfg.driver, cfg.url, self._on_device_event, cfg.options
                )
        self.client = PlatformClient.from_config(settings.platform, secret=secret)
        self.client.link.add_listener(self._post)
        self.outbox = Outbox.from_config(settings.outbox)
        self.outbox.add_listener(self._on_outbox_event)
        self.sender = Sender.from_config(self.outbox, self.client, settings.outbox)
        cache_path = Path(settings.outbox.path).with_name("catalog-cache.json")
        self.catalog_cache = CatalogCache(cache_path, self.client)
        self._catalogue: Catalogue = flows_shipped_catalogue()
        self.catalogue_source = "shipped"
        # armed requests: request id of the effect waiting for a device event
        self._armed_read: int | None = None
        self._armed_scan: int | None = None
        self._cancelled: set[int] = set()
        self._submits: dict[int, int] = {}  # outbox item id → request id still waiting
        #: Pages the document camera took this session (wiped with the session).
        self.pages = CapturedPages()
        self._capturing: dict[int, Any] = {}  # request id → the camera's CommandHandle
        self._heartbeat_stop = threading.Event()
        #: The live remote-help session (kiosk.remote.client.RemoteHelp), if any.
        self.remote_help: Any = None
        #: Its pictures for the app's video corner (kiosk.remote.video.PictureRelay), if any.
        self.remote_video: Any = None
        self._heartbeat_thread: threading.Thread | None = None
        self._first_beat = True

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        for device in self.devices.values():
            device.start()
        self._load_cached_catalogue()
        # help-session audit chains a crash left unqueued (docs/remote-help.md §4); before
        # any session exists, so a live chain is never taken
        from kiosk.remote.audit import recover_leftovers

        recover_leftovers(self.help_audit_dir, self.outbox)
        self.sender.start()
        self._pool.submit(self._refresh_catalogue)
        self._heartbeat_stop.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="heartbeat", daemon=True
        )
        self._heartbeat_thread.start()

    @property
    def help_audit_dir(self) -> Path:
        """Where remote-help sessions keep their audit chains (``<sid>.jsonl``)."""
        return Path(self.settings.outbox.path).with_name("remote-help")

    def stop(self) -> None:
        self._heartbeat_stop.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(self.settings.platform.timeout_s + 1)
        self.sender.stop()
        for device in self.devices.values():
            device.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        self.outbox.close()

    # -- heartbeat: the platform sees the kiosk, and the kiosk sees the link -----------

    def heartbeat_body(self) -> dict[str, Any]:
        devices = {name: str(d.status.state) for name, d in self.devices.items()}
        consumables: dict[str, float] = {}
        for name, d in self.devices.items():
            paper = d.status.detail.get("paper")
            if paper is not None:
                consumables[f"{name}.paper"] = {"ok": 1.0, "near_end": 0.1, "out": 0.0}.get(
                    paper, 1.0
                )
        return {
            "devices": devices,
            "consumables": consumables,
            "queue_depth": self.outbox.counts().get("pending", 0),
            "version": KIOSK_VERSION,
            "at": datetime.now(CHINA).isoformat(timespec="seconds"),
        }

    def _heartbeat_loop(self) -> None:
        interval = self.settings.platform.heartbeat_s
        while not self._heartbeat_stop.wait(0 if self._first_beat else interval):
            self._first_beat = False
            # a failure is recorded by the link monitor; the next beat retries
            with contextlib.suppress(PlatformError):
                self.client.heartbeat(self.heartbeat_body())

    # -- state the screens show (any thread) ------------------------------------------

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    def items(self) -> list[CatalogItem]:
        return list(self._catalogue.items)

    def device_up(self) -> dict[str, bool]:
        return {role: self._usable(role) for role in ROLES}

    def _usable(self, role: str) -> bool:
        device = self.devices.get(role)
        return device is not None and device.status.state in (DeviceState.ONLINE, DeviceState.BUSY)

    @property
    def online(self) -> bool:
        return self.client.link.state == LinkState.ONLINE

    def window(self) -> WindowStatus:
        return self.outbox.accepting_submissions()

    def availability(self) -> list[Availability]:
        return availability(self.items(), self.flows, self.device_up(), self.online)

    def device_faults(self) -> list[tuple[str, DeviceState, str]]:
        """(role, state, detail) of every configured device that is not usable."""
        faults: list[tuple[str, DeviceState, str]] = []
        for role, device in self.devices.items():
            status = device.status
            if status.state not in (DeviceState.ONLINE, DeviceState.BUSY, DeviceState.STARTING):
                faults.append((role, status.state, status.detail_text))
        return faults

    # -- catalogue -----------------------------------------------------------------------

    def _load_cached_catalogue(self) -> None:
        snap = self.catalog_cache.load()
        if snap is not None:
            self._use_catalogue(snap.catalog.model_dump(mode="json"), "cache")

    def _refresh_catalogue(self) -> None:
        result = self.catalog_cache.refresh()
        if result.changed and result.snapshot is not None:
            self._use_catalogue(result.snapshot.catalog.model_dump(mode="json"), "platform")

    def _use_catalogue(self, body: Mapping[str, Any], source: str) -> None:
        try:
            catalogue = parse_catalogue(json.dumps(body, ensure_ascii=False))
        except ValueError:
            log.warning("catalogue from %s rejected; keeping the current one", Safe(source))
            return
        self._catalogue = catalogue
        self.catalogue_source = source
        self._post(CatalogueChanged(source, len(catalogue.items)))

    # -- events from workers -----------------------------------------------------------

    def _on_device_event(self, event: DeviceEvent) -> None:
        """Called on a device worker."""
        from devices.idcard.driver import CardPresented
        from devices.scanner.core import CodeScanned

        if isinstance(event, CardPresented):
            with self._lock:
                armed = self._armed_read
            if armed is not None:
                self._read_card(armed)
        elif isinstance(event, CodeScanned):
            with self._lock:
                armed, self._armed_scan = self._armed_scan, None
            if armed is not None:
                self._post(ev.CodeScanned(request_id=armed, text=event.code.text or ""))
                self._disarm_scanner()
            return  # the scanned text is personal data: it goes to the flow only
        if isinstance(event, StatusChanged | CardPresented) or type(event).__name__ in (
            "CardRemoved",
        ):
            self._post(event)

    def _on_outbox_event(self, event: OutboxEvent) -> None:
        if isinstance(event, ItemDelivered):
            with self._lock:
                request_id = self._submits.pop(event.item_id, None)
            if request_id is not None and event.kind == "case":
                self._answer(
                    ev.CaseSubmitted(
                        request_id=request_id,
                        case_number=str(event.result.get("case_number") or "") or None,
                        queued=False,
                    )
                )
        elif isinstance(event, ItemDead):
            with self._lock:
                request_id = self._submits.pop(event.item_id, None)
            if request_id is not None:
                self._answer(
                    ev.EffectFailed(request_id=request_id, effect="submit_case", reason="rejected")
                )
        self._post(event)

    def _answer(self, event: ev.Result) -> None:
        with self._lock:
            if event.request_id in self._cancelled:
                self._cancelled.discard(event.request_id)
                return
        self._post(event)

    # -- effects (GUI thread) ----------------------------------------------------------

    def carry_out(self, effect: ev.Effect) -> None:
        """Start carrying out ``effect``; its answer arrives later through ``post``."""
        handler = getattr(self, f"_do_{effect.name}", None)
        if handler is None:
            if isinstance(effect, ev.Request):
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason="unsupported"
                    )
                )
            return
        handler(effect)

    def wipe(self) -> None:
        """The session ended: forget every armed request (their answers are dropped).

        Request ids come from one engine and only grow, so the set of ids whose answers
        are dropped is kept to the most recent ones."""
        with self._lock:
            for rid in (self._armed_read, self._armed_scan):
                if rid is not None:
                    self._cancelled.add(rid)
            self._armed_read = self._armed_scan = None
            self._cancelled.update(self._submits.values())
            self._submits.clear()
            if len(self._cancelled) > 256:
                self._cancelled = set(sorted(self._cancelled)[-128:])
            helper, self.remote_help = getattr(self, "remote_help", None), None
            capturing, self._capturing = list(self._capturing.values()), {}
        for handle in capturing:
            handle.cancel()  # the camera stops at its next step; the page is never kept
        self.pages.wipe()
        self._disarm_scanner()
        self._close_video()
        if helper is not None:
            helper.end("session_end")  # the citizen left: the assistant's session ends too

    def _close_video(self) -> None:
        relay, self.remote_video = getattr(self, "remote_video", None), None
        if relay is not None:
            relay.close()  # waiting pictures (the citizen's face) go now

    def _do_speak(self, effect: ev.Speak) -> None:
        lang = self._language()
        self._speak(effect.text.zh_CN if lang == "zh_CN" else effect.text.en, lang)

    def _do_cancel_request(self, effect: ev.CancelRequest) -> None:
        helper = self.remote_help
        if helper is not None and getattr(helper.request, "request_id", None) == effect.request_id:
            self.remote_help = None
            self._close_video()
            helper.end("cancelled")  # the flow gave up the call (cancel, timeout)
        with self._lock:
            self._cancelled.add(effect.request_id)
            capture = self._capturing.pop(effect.request_id, None)
            if self._armed_read == effect.request_id:
                self._armed_read = None
            if self._armed_scan == effect.request_id:
                self._armed_scan = None
                disarm = True
            else:
                disarm = False
        if disarm:
            self._disarm_scanner()
        if capture is not None:
            capture.cancel()

    # ID card: armed until a card is presented, then read on the reader's worker.
    def _do_read_id_card(self, effect: ev.ReadIdCard) -> None:
        reader = self.devices.get("idcard")
        if reader is None or not self._usable("idcard"):
            self._answer(
                ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason="device")
            )
            return
        with self._lock:
            self._armed_read = effect.request_id
        if getattr(reader, "card_state", "") == "present":
            self._read_card(effect.request_id)

    def _read_card(self, request_id: int) -> None:
        reader = self.devices["idcard"]
        handle = reader.read_card()  # type: ignore[attr-defined]

        def done(fut: Future[Any]) -> None:
            with self._lock:
                if self._armed_read != request_id:
                    return  # cancelled, or already answered
            err = fut.exception()
            if err is not None:
                reason = _reason_of(err)
                if reason == "no_card":
                    return  # lifted before the read finished: stay armed
                with self._lock:
                    self._armed_read = None
                self._answer(
                    ev.EffectFailed(request_id=request_id, effect="read_id_card", reason=reason)
                )
                return
            card = fut.result()
            with self._lock:
                self._armed_read = None
            self._answer(
                ev.IdCardRead(
                    request_id=request_id,
                    name=card.name,
                    id_number=card.id_number,
                    gender=str(card.gender),
                    birth=card.birth.isoformat() if card.birth else "",
                    address=card.address,
                )
            )

        handle.future.add_done_callback(done)

    # Scanner: armed (host trigger) until a code arrives as a device event.
    def _do_scan_code(self, effect: ev.ScanCode) -> None:
        scanner = self.devices.get("scanner")
        if scanner is None or not self._usable("scanner"):
            self._answer(
                ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason="device")
            )
            return
        with self._lock:
            self._armed_scan = effect.request_id
        scanner.arm()  # type: ignore[attr-defined]

    def _disarm_scanner(self) -> None:
        scanner = self.devices.get("scanner")
        if scanner is not None and self._usable("scanner"):
            scanner.disarm()  # type: ignore[attr-defined]

    # Platform calls on the platform pool.
    def _call(self, effect: ev.Request, fn: Callable[[], ev.Result]) -> None:
        def run() -> None:
            try:
                result = fn()
            except (PlatformError, DeviceError, OSError, ValueError) as err:
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason=_reason_of(err)
                    )
                )
                return
            self._answer(result)

        self._pool.submit(run)

    def _do_verify_code(self, effect: ev.VerifyCode) -> None:
        def run() -> ev.Result:
            answer = self.client.verify_code(effect.code)
            return ev.CodeVerified(
                request_id=effect.request_id, result=answer.result, holder_ref=answer.holder_ref
            )

        self._call(effect, run)

    def _do_fetch_user_info(self, effect: ev.FetchUserInfo) -> None:
        def run() -> ev.Result:
            if not effect.holder_ref:
                raise ValueError("user info needs a holder_ref")
            info = self.client.user_info(
                effect.holder_ref, scope=list(effect.scope), at=datetime.now(CHINA).isoformat()
            )
            return ev.UserInfoFetched(
                request_id=effect.request_id,
                name=info.name,
                id_number=info.id_number,
                gender=info.gender,
                birth=info.birth,
                phone=info.phone,
                address=info.address,
            )

        self._call(effect, run)

    def _do_fetch_licences(self, effect: ev.FetchLicences) -> None:
        def run() -> ev.Result:
            if not effect.holder:
                raise ValueError("licences need the holder's ID number")
            answer = self.client.licences(effect.holder)
            return ev.LicencesFetched(
                request_id=effect.request_id,
                licences=tuple(
                    ev.Licence(
                        id=lic.id,
                        type=lic.type,
                        type_name=lic.type_name,
                        number=lic.number,
                        holder_name=lic.holder_name,
                        issuer=lic.issuer,
                        valid_to=lic.valid_to,
                    )
                    for lic in answer.licences
                ),
            )

        self._call(effect, run)

    def _do_fetch_benefits(self, effect: ev.FetchBenefits) -> None:
        def run() -> ev.Result:
            if not effect.holder:
                raise ValueError("benefits need the holder's ID number")
            answer = self.client.benefits(effect.holder)
            return ev.BenefitsFetched(
                request_id=effect.request_id,
                benefits=tuple(
                    ev.Benefit(
                        code=b.code,
                        name=b.name,
                        department=b.department,
                        amount_text=b.amount_text,
                        status=b.status,
                    )
                    for b in answer.benefits
                ),
            )

        self._call(effect, run)

    def _do_query_platform(self, effect: ev.QueryPlatform) -> None:
        def run() -> ev.Result:
            params = effect.params
            data: dict[str, Any]
            if effect.kind == "case_status":
                status = self.client.case_status(str(params.get("case_number", "")))
                data = status.model_dump(mode="json")
            elif effect.kind == "queue_ticket":
                ticket = self.client.queue_ticket(
                    str(params.get("category") or effect.item_code),
                    holder_ref=params.get("holder_ref"),
                )
                data = ticket.model_dump(mode="json")
            elif effect.kind == "certificate":
                issued = self.client.certificate(
                    effect.item_code,
                    id_number=params.get("id_number"),
                    holder_ref=None if params.get("id_number") else params.get("holder_ref"),
                    params={
                        k: str(v)
                        for k, v in params.items()
                        if k not in ("id_number", "holder_ref") and v is not None
                    },
                )
                data = issued.model_dump(mode="json")
            elif effect.kind == "invoice_check":
                check = self.client.check_invoice(
                    str(params.get("invoice_code", "")),
                    invoice_date=params.get("invoice_date"),
                    amount=params.get("amount"),
                )
                data = check.model_dump(mode="json")
            else:
                raise ValueError(f"unknown platform query {effect.kind!r}")
            return ev.QueryAnswered(request_id=effect.request_id, data=data)

        self._call(effect, run)

    # Outbox writes (fsync) on the platform pool; the answer is the case number when the
    # sender delivers quickly, else a queued receipt.
    def _case_materials(self, effect: ev.SubmitCase) -> list[dict[str, Any]] | str:
        """The materials as the platform takes them: a captured page's ``content_ref``
        becomes its JPEG as ``content_b64``. A reason string when a page is gone."""
        out = []
        for m in effect.materials:
            item = {k: v for k, v in m.items() if k != "content_ref"}
            if m.get("source") == "captured":
                content = self.pages.content_b64(str(m.get("content_ref") or ""))
                if content is None:
                    return "missing_page"  # never send a captured material without its page
                item["content_b64"] = content
            out.append(item)
        return out

    def _do_submit_case(self, effect: ev.SubmitCase) -> None:
        # the pages are read now, on the GUI thread, before a wipe could take them
        materials = self._case_materials(effect)

        def run() -> None:
            if isinstance(materials, str):
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason=materials
                    )
                )
                return
            window = self.outbox.accepting_submissions()
            if not window.accepting:
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason="outbox_full"
                    )
                )
                return
            body = {
                "item_code": effect.item_code,
                "kiosk_id": self.settings.kiosk_id,
                "session_id": effect.session_id,
                "applicant": dict(effect.applicant),
                "form": dict(effect.form),
                "materials": materials,
                "submitted_at": datetime.now(CHINA).isoformat(timespec="seconds"),
            }
            size = len(json.dumps(body, ensure_ascii=False).encode())
            if size > MAX_CASE_BODY - 64 * 1024:  # room for the signature headers' margin
                log.warning("case body of %s bytes is over the platform's limit", Safe(size))
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason="too_large"
                    )
                )
                return
            # The app starts every session with a UUID, so "<session>:<step>" is unique.
            item_id = self.outbox.enqueue(
                "case", effect.session_id, body, idempotency_key=effect.idempotency_key
            )
            with self._lock:
                self._submits[item_id] = effect.request_id
            wait = self.submit_wait_s if self.online else 0.0
            timer = threading.Timer(wait, self._answer_queued, (item_id, effect.request_id))
            timer.daemon = True
            timer.start()

        self._pool.submit(run)

    def _answer_queued(self, item_id: int, request_id: int) -> None:
        with self._lock:
            still_waiting = self._submits.pop(item_id, None) == request_id
        if still_waiting:
            self._answer(
                ev.CaseSubmitted(request_id=request_id, queued=True, receipt_ref=f"Q{item_id:06d}")
            )

    def _do_submit_evaluation(self, effect: ev.SubmitEvaluation) -> None:
        level = effect.satisfaction
        order = self.settings.evaluation.code_order
        code = level if order == "five_is_best" else 6 - level
        body = {
            "case_number": effect.case_number,
            "item_code": effect.item_code,
            "satisfaction": code,
            "code_order": order,
            "reasons": list(effect.reasons),
            "comment": "",
            "channel": self.settings.evaluation.channel_code,
            "assessed_at": datetime.now(CHINA).isoformat(timespec="seconds"),
        }

        def run() -> None:
            try:
                self.outbox.enqueue("evaluation", f"eval-{uuid.uuid4().hex[:12]}", body)
            except Exception:
                log.exception("evaluation could not be queued")

        self._pool.submit(run)

    def _do_print_document(self, effect: ev.PrintDocument) -> None:
        printer = self.devices.get(effect.printer)
        if printer is None or not self._usable(effect.printer):
            self._answer(
                ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason="device")
            )
            return
        content = effect.content
        if effect.document in ("certificate", "licence"):
            # The platform's own rendition (电子证照 / 证明), fetched and printed as it is.
            self._pool.submit(self._print_platform_pdf, effect, printer, content)
            return
        from kiosk.documents import build_document

        try:
            doc = build_document(
                effect.document,
                content,
                kiosk_id=self.settings.kiosk_id,
                lookup_base_url=self.settings.platform.url,
                now=datetime.now(CHINA),
            )
        except (KeyError, ValueError):
            log.exception("document %s could not be laid out", Safe(effect.document))
            self._answer(
                ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason="failed")
            )
            return
        self._follow_print(effect, printer.print_document(doc))  # type: ignore[attr-defined]

    def _print_platform_pdf(
        self, effect: ev.PrintDocument, printer: Device, content: Mapping[str, Any]
    ) -> None:
        """On the platform pool: fetch the PDF, then queue it on the printer's worker."""
        try:
            if effect.document == "licence":
                pdf = self.client.licence_pdf(str(content.get("licence_id") or ""))
            else:
                pdf = self.client.document_pdf(str(content.get("document_ref") or ""))
        except PlatformError as err:
            self._answer(
                ev.EffectFailed(
                    request_id=effect.request_id, effect=effect.name, reason=_reason_of(err)
                )
            )
            return
        title = str(content.get("title") or effect.document)
        self._follow_print(effect, printer.print_pdf(pdf, title=title))  # type: ignore[attr-defined]

    def _follow_print(self, effect: ev.PrintDocument, handle: Any) -> None:
        def done(fut: Future[Any]) -> None:
            err = fut.exception()
            if err is None:
                self._answer(ev.Printed(request_id=effect.request_id))
            else:
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason=_reason_of(err)
                    )
                )

        handle.future.add_done_callback(done)

    # Not in this release: face liveness (issue 8), document camera, remote help (issue 9).
    def _do_capture_face(self, effect: ev.CaptureFace) -> None:
        from kiosk.face import capture_face  # the face stack (OpenCV) loads on first use

        camera = self.devices.get("camera")
        usable = camera if camera is not None and self._usable("camera") else None
        capture_face(
            effect,
            usable,
            client=self.client,
            pool=self._pool,
            post=self._post,
            answer=self._answer,
        )

    # Document camera: the capture runs on its worker; the page is kept in memory by ref.
    def _do_capture_document(self, effect: ev.CaptureDocument) -> None:
        camera = self.devices.get("document_camera")
        if camera is None or not self._usable("document_camera"):
            self._answer(
                ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason="device")
            )
            return
        epoch = self.pages.epoch
        handle = camera.capture()  # type: ignore[attr-defined]
        with self._lock:
            self._capturing[effect.request_id] = handle

        def done(fut: Future[Any]) -> None:  # on the camera's worker
            with self._lock:
                self._capturing.pop(effect.request_id, None)
            err = fut.exception()
            if err is not None:
                reason = _capture_reason(err)
                self._answer(
                    ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason=reason)
                )
                return
            image = fut.result()
            page = Page(
                effect.material_code, image.jpeg, image.thumbnail, image.width, image.height
            )
            with self._lock:
                cancelled = effect.request_id in self._cancelled
            try:
                ref = None if cancelled else self.pages.put(page, epoch=epoch)
            except PageBudgetError:
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason="too_large"
                    )
                )
                return
            if ref is None:  # the session ended meanwhile: the page is dropped here
                self._answer(
                    ev.EffectFailed(
                        request_id=effect.request_id, effect=effect.name, reason="cancelled"
                    )
                )
                return
            self._answer(ev.DocumentCaptured(request_id=effect.request_id, ref=ref))

        handle.future.add_done_callback(done)

    def captured_thumbnail(self, ref: str) -> bytes | None:
        """The preview JPEG of a page taken this session (for the materials screen)."""
        page = self.pages.get(ref)
        return None if page is None else page.thumbnail

    def _do_call_assistant(self, effect: ev.CallAssistant) -> None:
        # Remote video help (kiosk/remote, docs/remote-help.md) for items that offer it, when
        # the 'remote' extra is installed; calling hall staff is not wired: "no_assistant".
        import importlib.util

        if effect.mode != "remote_video" or importlib.util.find_spec("websockets") is None:
            self._answer(
                ev.EffectFailed(
                    request_id=effect.request_id, effect=effect.name, reason="no_assistant"
                )
            )
            return
        from kiosk.remote.client import RemoteHelp  # imported late: the CLI stays light
        from kiosk.remote.masking import AllowList

        try:
            category: str = self._catalogue.item(effect.item_code).category
        except KeyError:
            category = "general"
        skill = category if category in ("tax", "yijianshi", "certificate") else "general"
        context = {
            "link": self.client.link.state.value,
            "devices": {name: d.status.state.value for name, d in self.devices.items()},
        }

        def post(obj: object) -> None:  # results honour CancelRequest; the rest as it is
            if isinstance(obj, ev.Result):
                self._answer(obj)
            else:
                self._post(obj)

        # Video (docs/remote-help.md §6): the camera device's frames to the assistant, and
        # pictures for the app's corner, converted on the remote-help thread.
        video: dict[str, Any] = {}
        cfg = self.settings.remote_help
        if cfg.video and importlib.util.find_spec("aiortc") is not None:
            from kiosk.remote.media_config import MediaConfig
            from kiosk.remote.video import PictureRelay

            self._close_video()
            relay = PictureRelay(self._post, max_fps=cfg.picture_fps)
            self.remote_video = relay
            camera_device = self.devices.get("camera")

            def camera(config: MediaConfig) -> Any:  # on the remote-help thread
                from kiosk.remote.camera_track import device_camera

                return device_camera(config, camera_device, on_sent=relay.preview_frame)

            video = {
                "media": MediaConfig(
                    width=cfg.width,
                    height=cfg.height,
                    fps=cfg.fps,
                    max_bitrate=cfg.max_bitrate_kbps * 1000,
                ),
                "camera": camera,
                "on_frame": relay.assistant_frame,
            }
            if cfg.audio:
                # the assistant's voice on the speaker, the citizen's from the microphone
                # (ALSA, opened on the remote-help side; one that fails leaves the call silent
                # that way, video goes on)
                speaker_name, microphone_name = cfg.speaker, cfg.microphone

                def speaker() -> Any:
                    from kiosk.remote.audio import Speaker

                    return Speaker(speaker_name)

                def microphone() -> Any:
                    from kiosk.remote.audio import open_microphone

                    return open_microphone(microphone_name)

                video["speaker"] = speaker
                video["microphone"] = microphone

        # The app reaches the session here (banner, consent dialog, views, stop, end).
        self.remote_help = RemoteHelp(
            self.client,
            post,
            effect,
            allow=AllowList.from_flows(self.flows),
            audit_dir=self.help_audit_dir,
            skill=skill,
            context=context,
            outbox=self.outbox,  # the audit chain goes to the platform at session end
            **video,
        )
        self.remote_help.start()


def now_utc() -> datetime:
    return datetime.now(UTC)
