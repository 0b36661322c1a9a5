"""Remote video help (远程帮办) on the platform: help requests, assistant login, short-lived
tokens, the WebSocket signalling hub and the router (:mod:`sandbox.assist_router`).

HTTP (JSON; errors in the contract's ``{"error", "message"}`` shape):

* ``POST /api/v1/assist/requests`` — **signed** kiosk request (the gateway checks it):
  ``{item_code, flow_id, step_id, skill, priority 0-3, context: {…}}`` → 201
  ``{sid, token, expires_in, ws: "/ws/kiosk", turn: {urls, username, credential, ttl}}``.
  The task offered to assistants carries the kiosk's context plus ``item_code``,
  ``item_name`` (from the catalogue; null for an unknown code), ``flow_id`` and ``step_id``.
* ``POST /api/v1/assist/requests/{sid}/token`` — signed: a fresh kiosk token (reconnect).
* ``POST /assist/login`` ``{assistant_id, password}`` → ``{token, expires_in, name, skills}``.
* ``POST /assist/sessions/{sid}/documents?title=…`` — the assigned assistant
  (``Authorization: Bearer <assistant token>``) pushes a document for the citizen: the body
  is the file (``application/pdf``, ``image/png`` or ``image/jpeg``, at most
  :data:`MAX_DOCUMENT_BYTES`) → 201 ``{doc_id, sha256, size, title, content_type}``. The
  console then offers it to the kiosk in an ``intent.document`` envelope with that
  ``doc_id`` and ``sha256``.
* ``GET /api/v1/assist/requests/{sid}/documents/{doc_id}`` — **signed**: the kiosk of the
  request fetches a pushed document (the bytes, with its content type and an
  ``X-Content-SHA256`` header); the kiosk checks the hash against the offer itself.
* ``GET /assist/console/`` — the assistant console page (``sandbox/console/``, Chinese UI).
* ``PUT /admin/assistants/{assistant_id}`` ``{name, password, skills}`` (sandbox accounts) and
  ``PUT /admin/assist/config`` ``{offer_timeout_s, callback_after_s, kiosk_grace_s}``.

Tokens: ``base64url(claims JSON) "." base64url(HMAC-SHA256(hub secret, claims part))`` with
claims ``{role: kiosk|assistant, sub, sid?, exp}``; kiosk tokens live
:data:`KIOSK_TOKEN_TTL_S` (only to open the socket), assistant tokens
:data:`ASSISTANT_TOKEN_TTL_S`. TURN credentials follow the TURN REST scheme (coturn
``--use-auth-secret``): ``username = "<expiry>:<sid>"``, ``credential =
base64(HMAC-SHA1(turn secret, username))``.

WebSockets (``?token=``; text frames, one JSON object each; a bad token closes with 4401):

* ``/ws/kiosk`` — the kiosk of one request. Platform → kiosk: ``queued`` ``{position}``,
  ``assigned`` ``{assistant: {id, name}}``, ``transferring``, ``callback_offer``,
  ``no_assistant`` ``{callback}``, ``ended`` ``{reason}``, ``rh`` ``{data}``. Kiosk →
  platform: ``rh`` ``{data}`` (an rh/1 envelope as text, relayed unparsed to the assigned
  assistant), ``callback`` ``{accept}``, ``end``.
* ``/ws/assistant`` — one console. Platform → console: ``welcome``, ``queue`` ``{tasks}``,
  ``offer`` ``{task, timeout_s}``, ``offer_withdrawn``, ``session`` ``{task, turn}``,
  ``session_ended``, ``rh`` ``{data}``, ``error``. Console → platform: ``ready`` ``{ready}``,
  ``accept`` / ``decline`` ``{task}``, ``transfer`` ``{skill?, to?}``, ``end``, ``rh``
  ``{data}``.

Threading: everything runs on uvicorn's event loop; the router is called only from there.
A ticker task (started with the first socket) re-offers lapsed offers, sends call-back offers
and drops kiosks that stayed away longer than the grace period. State is in memory (pushed
documents too, at most :data:`MAX_DOCUMENTS_PER_SESSION` a session): a sandbox restart ends
every help session. Personal data: none passes the hub except inside
relayed rh/1 envelopes, which it neither parses nor logs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    Query,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi import Path as PathParam
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketState

from sandbox.app import ApiError, CtxDep, KioskDep, _doc_headers, require_admin
from sandbox.assist_router import MAX_PRIORITY, Notice, Router, Task

log = logging.getLogger(__name__)

KIOSK_TOKEN_TTL_S = 120
ASSISTANT_TOKEN_TTL_S = 8 * 3600
TURN_TTL_S = 3600
MAX_RH_BYTES = 16 * 1024
CLOSE_UNAUTHORIZED = 4401
#: The assistant console (plain HTML + ES modules, no build step), served at /assist/console/.
CONSOLE_DIR = Path(__file__).with_name("console")
ID = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DOCUMENTS_PER_SESSION = 20
DOCUMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


# --------------------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, claims: dict[str, Any]) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return body + "." + _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def read_token(secret: bytes, token: str, now: float) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token, else None."""
    body, _, sig = token.partition(".")
    try:
        expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
        if not sig or not hmac.compare_digest(sig, expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int | float):
        return None
    return claims if claims["exp"] > now else None


def turn_credentials(secret: bytes, sid: str, urls: list[str], now: float) -> dict[str, Any]:
    username = f"{int(now) + TURN_TTL_S}:{sid}"
    credential = base64.b64encode(hmac.new(secret, username.encode(), hashlib.sha1).digest())
    return {
        "urls": urls,
        "username": username,
        "credential": credential.decode(),
        "ttl": TURN_TTL_S,
    }


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


# --------------------------------------------------------------------------- the hub


@dataclass
class Account:
    name: str
    skills: frozenset[str]
    salt: bytes
    pw_hash: bytes


@dataclass(frozen=True)
class PushedDocument:
    doc_id: str
    title: str
    content_type: str
    data: bytes
    sha256: str


@dataclass
class Hub:
    router: Router = field(default_factory=Router)
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    turn_secret: bytes = field(default_factory=lambda: os.urandom(32))
    turn_urls: list[str] = field(default_factory=list)
    kiosk_grace_s: float = 20.0
    accounts: dict[str, Account] = field(default_factory=dict)
    kiosks: dict[str, WebSocket] = field(default_factory=dict)  # task id → socket
    kiosk_lost: dict[str, float] = field(default_factory=dict)  # task id → since
    consoles: dict[str, WebSocket] = field(default_factory=dict)  # assistant id → socket
    documents: dict[str, dict[str, PushedDocument]] = field(default_factory=dict)  # by sid
    ticker: asyncio.Task[None] | None = None

    def now(self) -> float:
        return time.monotonic()

    async def deliver(self, notices: list[Notice]) -> None:
        for n in notices:
            role, key = n.to
            ws = (self.kiosks if role == "kiosk" else self.consoles).get(key)
            message = n.message
            if message["type"] == "session":  # the console's own TURN credentials
                sid = str(message["task"]["id"])
                turn = turn_credentials(self.turn_secret, sid, self.turn_urls, time.time())
                message = {**message, "turn": turn}
            if ws is not None:
                await _send(ws, message)
            if role == "kiosk" and n.message["type"] in ("no_assistant", "ended"):
                self.kiosk_lost.pop(key, None)
        await self.broadcast_queue()

    async def broadcast_queue(self) -> None:
        queue = self.router.queue(self.now())
        for aid, ws in list(self.consoles.items()):
            skills = self.router.assistants[aid].skills
            await _send(ws, {"type": "queue", "tasks": [t for t in queue if t["skill"] in skills]})

    def ensure_ticker(self) -> None:
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            now = self.now()
            notices = self.router.tick(now)
            for tid, since in list(self.kiosk_lost.items()):
                if now - since >= self.kiosk_grace_s:
                    del self.kiosk_lost[tid]
                    notices += self.router.cancel_task(tid, now, "kiosk_lost")
            if notices:
                await self.deliver(notices)

    def peer_of_kiosk(self, tid: str) -> WebSocket | None:
        t = self.router.tasks.get(tid)
        if t is None or t.assistant is None:
            return None
        return self.consoles.get(t.assistant)


async def _send(ws: WebSocket, message: dict[str, Any]) -> None:
    if ws.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await ws.send_text(json.dumps(message, ensure_ascii=False))


def hub_of(app: FastAPI) -> Hub:
    hub: Hub = app.state.assist
    return hub


async def _hub(request: Request) -> Hub:
    return hub_of(request.app)


HubDep = Annotated[Hub, Depends(_hub)]


# --------------------------------------------------------------------------- HTTP


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelpRequestIn(_Strict):
    item_code: str = Field(min_length=1, max_length=64)
    flow_id: str = Field(min_length=1, max_length=64)
    step_id: str = Field(min_length=1, max_length=40)
    skill: str = Field(default="general", pattern=r"^[a-z_]{1,32}$")
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY)
    #: devices, link state, elapsed seconds: no personal data (the kiosk sends ids and states)
    context: dict[str, Any] = Field(default_factory=dict)


class TurnOut(BaseModel):
    urls: list[str]
    username: str
    credential: str
    ttl: int


class HelpRequestOut(BaseModel):
    sid: str
    token: str
    expires_in: int
    ws: str
    turn: TurnOut


class TokenOut(BaseModel):
    token: str
    expires_in: int


class LoginIn(_Strict):
    assistant_id: str = Field(pattern=ID)
    password: str = Field(min_length=1, max_length=128)


class LoginOut(BaseModel):
    token: str
    expires_in: int
    name: str
    skills: list[str]


class AssistantIn(_Strict):
    name: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=8, max_length=128)
    skills: list[str] = Field(min_length=1, max_length=16)


class DocumentPushed(BaseModel):
    doc_id: str
    sha256: str
    size: int
    title: str
    content_type: str


class AssistConfig(_Strict):
    offer_timeout_s: float = Field(default=15.0, gt=0, le=600)
    callback_after_s: float = Field(default=60.0, gt=0, le=3600)
    kiosk_grace_s: float = Field(default=20.0, gt=0, le=600)
    turn_urls: list[str] = Field(default_factory=list, max_length=8)


api = APIRouter(prefix="/api/v1/assist", tags=["remote help"], dependencies=_doc_headers)
public = APIRouter(prefix="/assist", tags=["remote help"])
admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


def _kiosk_token(hub: Hub, kiosk_id: str, sid: str) -> TokenOut:
    exp = int(time.time()) + KIOSK_TOKEN_TTL_S
    claims = {"role": "kiosk", "sub": kiosk_id, "sid": sid, "exp": exp}
    return TokenOut(token=make_token(hub.secret, claims), expires_in=KIOSK_TOKEN_TTL_S)


@api.post("/requests", status_code=201, response_model=HelpRequestOut)
async def create_request(
    body: HelpRequestIn, kiosk_id: KioskDep, hub: HubDep, ctx: CtxDep
) -> HelpRequestOut:
    sid = "rh-" + uuid.uuid4().hex[:20]
    # the console's queue names the service, not only its code (None: not in the catalogue)
    name = ctx.store.item_name(body.item_code)
    hub.router.tasks[sid] = Task(
        id=sid,
        kiosk_id=kiosk_id,
        skill=body.skill,
        priority=body.priority,
        created=hub.now(),
        context={
            **body.context,
            "item_code": body.item_code,
            "item_name": name,
            "flow_id": body.flow_id,
            "step_id": body.step_id,
        },
        state="new",
    )
    tok = _kiosk_token(hub, kiosk_id, sid)
    turn = turn_credentials(hub.turn_secret, sid, hub.turn_urls, time.time())
    return HelpRequestOut(
        sid=sid, token=tok.token, expires_in=tok.expires_in, ws="/ws/kiosk", turn=TurnOut(**turn)
    )


@api.post("/requests/{sid}/token", response_model=TokenOut)
async def refresh_kiosk_token(
    sid: Annotated[str, PathParam(pattern=ID)], kiosk_id: KioskDep, hub: HubDep
) -> TokenOut:
    t = hub.router.tasks.get(sid)
    if t is None or t.kiosk_id != kiosk_id or t.state == "ended":
        raise ApiError(404, "not_found", "no open help request with this id")
    return _kiosk_token(hub, kiosk_id, sid)


@api.get(
    "/requests/{sid}/documents/{doc_id}",
    response_class=Response,
    responses={
        200: {
            "content": {t: {} for t in sorted(DOCUMENT_TYPES)},
            "description": "The pushed document; X-Content-SHA256 is its SHA-256 (hex)",
        },
        404: {"description": "No such document for this kiosk's request"},
    },
)
async def get_document(
    sid: Annotated[str, PathParam(pattern=ID)],
    doc_id: Annotated[str, PathParam(pattern=ID)],
    kiosk_id: KioskDep,
    hub: HubDep,
) -> Response:
    """A document the assistant pushed, for the kiosk of the request only."""
    t = hub.router.tasks.get(sid)
    doc = hub.documents.get(sid, {}).get(doc_id)
    if t is None or t.kiosk_id != kiosk_id or doc is None:
        raise ApiError(404, "not_found", "no such document for this help request")
    return Response(doc.data, media_type=doc.content_type, headers={"X-Content-SHA256": doc.sha256})


def _assistant_of(hub: Hub, authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    claims = read_token(hub.secret, token, time.time()) if scheme.lower() == "bearer" else None
    if claims is None or claims.get("role") != "assistant":
        raise ApiError(401, "unauthorized", "an assistant token is needed")
    return str(claims["sub"])


@public.post(
    "/sessions/{sid}/documents",
    status_code=201,
    response_model=DocumentPushed,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in sorted(DOCUMENT_TYPES)
            },
        }
    },
    responses={401: {}, 404: {}, 409: {}, 413: {}, 415: {}},
)
async def push_document(
    request: Request,
    sid: Annotated[str, PathParam(pattern=ID)],
    title: Annotated[str, Query(min_length=1, max_length=80)],
    hub: HubDep,
    authorization: Annotated[str | None, Header(max_length=2048)] = None,
) -> DocumentPushed:
    """The assigned assistant uploads a document for the citizen (the body is the file)."""
    aid = _assistant_of(hub, authorization)
    t = hub.router.tasks.get(sid)
    if t is None or t.assistant != aid or t.state != "assigned":
        raise ApiError(404, "not_found", "no help session of yours with this id")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in DOCUMENT_TYPES:
        raise ApiError(415, "unsupported_media_type", "PDF, PNG or JPEG only")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "payload_too_large", "document over the size limit")
    if not data:
        raise ApiError(422, "validation_error", "empty document")
    docs = hub.documents.setdefault(sid, {})
    if len(docs) >= MAX_DOCUMENTS_PER_SESSION:
        raise ApiError(409, "too_many_documents", "document limit of this session reached")
    doc = PushedDocument(
        doc_id="doc-" + uuid.uuid4().hex[:16],
        title=title,
        content_type=content_type,
        data=bytes(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    docs[doc.doc_id] = doc
    return DocumentPushed(
        doc_id=doc.doc_id,
        sha256=doc.sha256,
        size=len(doc.data),
        title=doc.title,
        content_type=doc.content_type,
    )


@public.post("/login", response_model=LoginOut)
async def login(body: LoginIn, hub: HubDep) -> LoginOut:
    acc = hub.accounts.get(body.assistant_id)
    given = _hash_password(body.password, acc.salt if acc else b"x" * 16)
    if acc is None or not hmac.compare_digest(given, acc.pw_hash):
        raise ApiError(401, "unauthorized", "wrong assistant id or password")
    exp = int(time.time()) + ASSISTANT_TOKEN_TTL_S
    token = make_token(hub.secret, {"role": "assistant", "sub": body.assistant_id, "exp": exp})
    return LoginOut(
        token=token, expires_in=ASSISTANT_TOKEN_TTL_S, name=acc.name, skills=sorted(acc.skills)
    )


@admin.put("/assistants/{assistant_id}", status_code=204)
async def put_assistant(
    assistant_id: Annotated[str, PathParam(pattern=ID)], body: AssistantIn, hub: HubDep
) -> None:
    salt = os.urandom(16)
    skills = frozenset(body.skills)
    hub.accounts[assistant_id] = Account(
        body.name, skills, salt, _hash_password(body.password, salt)
    )
    hub.router.add_assistant(assistant_id, body.name, skills)


@admin.put("/assist/config", response_model=AssistConfig)
async def put_config(body: AssistConfig, hub: HubDep) -> AssistConfig:
    hub.router.offer_timeout_s = body.offer_timeout_s
    hub.router.callback_after_s = body.callback_after_s
    hub.kiosk_grace_s = body.kiosk_grace_s
    hub.turn_urls = list(body.turn_urls)
    return body


# --------------------------------------------------------------------------- WebSockets


async def _claims(ws: WebSocket, role: str) -> dict[str, Any] | None:
    hub = hub_of(ws.app)
    claims = read_token(hub.secret, ws.query_params.get("token", ""), time.time())
    if claims is None or claims.get("role") != role:
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return None
    return claims


async def _messages(ws: WebSocket) -> AsyncIterator[dict[str, Any]]:
    """Yield JSON objects; a frame that is not one is answered with an error and skipped."""
    while True:
        try:
            text = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await _send(ws, {"type": "error", "error": "bad_message"})
            continue
        yield msg


def _rh(msg: dict[str, Any]) -> str | None:
    data = msg.get("data")
    if isinstance(data, str) and len(data.encode()) <= MAX_RH_BYTES:
        return data
    return None


async def kiosk_socket(ws: WebSocket) -> None:
    claims = await _claims(ws, "kiosk")
    if claims is None:
        return
    hub, sid = hub_of(ws.app), str(claims.get("sid"))
    t = hub.router.tasks.get(sid)
    if t is None or t.kiosk_id != claims["sub"] or t.state == "ended":
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return
    await ws.accept()
    hub.ensure_ticker()
    old = hub.kiosks.get(sid)
    hub.kiosks[sid] = ws
    hub.kiosk_lost.pop(sid, None)
    if old is not None:
        with contextlib.suppress(RuntimeError, OSError):
            await old.close(code=4409)
    if t.state == "new":
        t.state = "waiting"
        notices = hub.router.add_task(t, hub.now())
        await hub.deliver(notices)
        if t.state == "waiting":
            position = [q["id"] for q in hub.router.queue(hub.now())].index(sid) + 1
            await _send(ws, {"type": "queued", "position": position})
    elif t.state == "assigned" and t.assistant:
        a = hub.router.assistants[t.assistant]
        await _send(ws, {"type": "assigned", "assistant": {"id": a.id, "name": a.name}})
    try:
        async for msg in _messages(ws):
            kind = msg["type"]
            if kind == "rh":
                data, peer = _rh(msg), hub.peer_of_kiosk(sid)
                if data is not None and peer is not None:
                    await _send(peer, {"type": "rh", "data": data})
            elif kind == "end":
                await hub.deliver(hub.router.cancel_task(sid, hub.now(), "kiosk_ended"))
                await _send(ws, {"type": "ended", "reason": "kiosk_ended"})
                break
            elif kind == "callback":
                if msg.get("accept") is True:
                    await hub.deliver(hub.router.cancel_task(sid, hub.now(), "callback"))
                    await _send(ws, {"type": "ended", "reason": "callback"})
                    break
            else:
                await _send(ws, {"type": "error", "error": "unknown_type"})
    finally:
        if hub.kiosks.get(sid) is ws:
            del hub.kiosks[sid]
            t = hub.router.tasks[sid]
            if t.state != "ended":
                hub.kiosk_lost[sid] = hub.now()


async def assistant_socket(ws: WebSocket) -> None:
    claims = await _claims(ws, "assistant")
    if claims is None:
        return
    hub, aid = hub_of(ws.app), str(claims["sub"])
    if aid not in hub.router.assistants:
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return
    await ws.accept()
    hub.ensure_ticker()
    old = hub.consoles.get(aid)
    if old is not None:  # one console per assistant: the newest wins
        await hub.deliver(hub.router.disconnect(aid, hub.now()))
        with contextlib.suppress(RuntimeError, OSError):
            await old.close(code=4409)
    hub.consoles[aid] = ws
    a = hub.router.assistants[aid]
    await _send(
        ws,
        {"type": "welcome", "assistant": {"id": aid, "name": a.name, "skills": sorted(a.skills)}},
    )
    await hub.broadcast_queue()
    try:
        async for msg in _messages(ws):
            await _assistant_message(hub, aid, ws, msg)
    finally:
        if hub.consoles.get(aid) is ws:
            del hub.consoles[aid]
            await hub.deliver(hub.router.disconnect(aid, hub.now()))


async def _assistant_message(hub: Hub, aid: str, ws: WebSocket, msg: dict[str, Any]) -> None:
    kind, now, r = msg["type"], hub.now(), hub.router
    task = msg.get("task")
    if kind == "ready":
        await hub.deliver(r.set_ready(aid, msg.get("ready", True) is True, now))
    elif kind in ("accept", "decline") and isinstance(task, str):
        fn = r.accept if kind == "accept" else r.decline
        await hub.deliver(fn(aid, task, now))
    elif kind == "transfer":
        skill, to = msg.get("skill"), msg.get("to")
        await hub.deliver(
            r.transfer(
                aid,
                skill if isinstance(skill, str) else None,
                to if isinstance(to, str) else None,
                now,
            )
        )
    elif kind == "end":
        tid = r.assistants[aid].task
        if tid is not None and r.tasks[tid].state == "assigned":
            kiosk = hub.kiosks.get(tid)
            await hub.deliver(r.cancel_task(tid, now, "assistant_ended"))
            if kiosk is not None:
                await _send(kiosk, {"type": "ended", "reason": "assistant_ended"})
    elif kind == "rh":
        tid, data = r.assistants[aid].task, _rh(msg)
        if tid is not None and data is not None and r.tasks[tid].state == "assigned":
            kiosk = hub.kiosks.get(tid)
            if kiosk is not None:
                await _send(kiosk, {"type": "rh", "data": data})
    else:
        await _send(ws, {"type": "error", "error": "unknown_type"})


def mount(app: FastAPI) -> None:
    """Add the remote-help routes and the hub to the platform app."""
    app.state.assist = Hub()
    app.include_router(api, responses={401: {"description": "Signature check failed"}})
    app.include_router(public)
    app.include_router(admin)
    app.mount("/assist/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    app.add_api_websocket_route("/ws/kiosk", kiosk_socket)
    app.add_api_websocket_route("/ws/assistant", assistant_socket)
