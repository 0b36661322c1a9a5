"""The ASGI gateway in front of the FastAPI app: body limit, injected faults, kiosk signatures.

Order for every HTTP request:

1. **Faults** (:mod:`sandbox.faults`) for paths under ``/api/``: added latency, then outage
   (``503 {"error": "unavailable"}``), injected error (``503 {"error": "fault_injected"}``) or
   a dropped connection. A drop *before* closes the TCP connection without reading or
   answering; a drop *after* (``drop_after_rate``) lets the app handle the request — so a case
   may be created — and then closes the connection without sending the answer, the case an
   exactly-once client must survive.
2. **Size**: a body over 8 MiB (by ``Content-Length`` or as it streams in) → ``413``.
3. **Signature** for ``/api/v1/*`` except ``GET /api/v1/health``: the checks of
   :mod:`sandbox.signing`, in the order missing_headers, unknown_kiosk, stale_timestamp,
   bad_signature, replayed_nonce (the nonce is stored only for a correctly signed request, so
   forged requests cannot burn a kiosk's nonces) → ``401 {"error": "unauthorized", "reason"}``.
   On success the kiosk id goes to ``scope["state"]["kiosk_id"]`` and the buffered body is
   replayed to the app.

It sits outside FastAPI (wrapping the app object handed to uvicorn) because it needs the raw
body bytes and, for drops, uvicorn's transport: the ASGI ``send`` callable uvicorn passes is
a bound method of its request cycle, whose ``transport`` we abort. Database calls run on
the thread pool (``anyio.to_thread``) so the event loop never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sandbox import signing
from sandbox.app import Context

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLargeError(Exception):
    pass


class _DisconnectedError(Exception):
    pass


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _DisconnectedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _abort(send: Send) -> bool:
    """Close the client connection without an answer (uvicorn only); False if impossible."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    # Let connection_lost run so uvicorn marks the cycle disconnected and sends nothing.
    for _ in range(3):
        await asyncio.sleep(0)
    return True


class Gateway:
    def __init__(
        self,
        app: ASGIApp,
        ctx: Context,
        *,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.ctx, self.max_body, self.clock = app, ctx, max_body, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        decision = self.ctx.faults.decide(method, path)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.action == "outage":
            await _json(send, 503, {"error": "unavailable", "message": "platform outage"})
            return
        if decision.action == "error":
            await _json(send, 503, {"error": "fault_injected", "message": "injected error"})
            return
        if decision.action == "drop" and await _abort(send):
            return

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _json(send, 413, {"error": "payload_too_large", "message": "body over 8 MiB"})
            return
        try:
            body = await _read_body(receive, self.max_body)
        except _TooLargeError:
            await _json(send, 413, {"error": "payload_too_large", "message": "body over 8 MiB"})
            return
        except _DisconnectedError:
            return

        if path.startswith("/api/v1/") and not (path == "/api/v1/health" and method == "GET"):
            raw_path = scope.get("raw_path") or path.encode()
            query = scope.get("query_string", b"").decode("latin-1")
            reason = await self._authenticate(
                scope, method, raw_path.decode("latin-1"), query, headers=headers, body=body
            )
            if reason is not None:
                self.ctx.auth_rejections[reason[0]] = self.ctx.auth_rejections.get(reason[0], 0) + 1
                log.info("request rejected", extra={"reason_code": reason[0], "endpoint": path})
                await _json(
                    send, 401, {"error": "unauthorized", "reason": reason[0], "message": reason[1]}
                )
                return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if decision.action == "drop_after":
            await self.app(scope, replay, _swallow)
            if await _abort(send):
                return
            await _json(send, 503, {"error": "fault_injected", "message": "dropped"})
            return
        await self.app(scope, replay, send)

    async def _authenticate(
        self,
        scope: Scope,
        method: str,
        raw_path: str,
        query: str,
        *,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[str, str] | None:
        kiosk_id = headers.get("x-kiosk-id")
        ts = headers.get("x-timestamp")
        nonce = headers.get("x-nonce")
        sig = headers.get("x-signature")
        problem = signing.header_problem(kiosk_id, ts, nonce, sig)
        if problem is not None:
            return "missing_headers", problem
        assert kiosk_id is not None and ts is not None and nonce is not None and sig is not None
        now = self.clock()
        store = self.ctx.store

        def check() -> tuple[str, str] | None:
            # Run inline on the event loop: a cached secret and one short SQLite insert cost
            # less than a thread-pool hop (measured with bench/outbox.py's drain).
            secret = store.kiosk_secret(kiosk_id)
            if secret is None:
                return "unknown_kiosk", "this kiosk is not enrolled"
            if not signing.timestamp_fresh(ts, now):
                return "stale_timestamp", (
                    f"X-Timestamp is outside ±{signing.WINDOW_S} s of server time"
                )
            canonical = signing.canonical_string(
                method, raw_path, query, timestamp=ts, nonce=nonce, body=body
            )
            if not signing.signature_ok(secret, canonical, sig):
                # the cached secret may predate a re-enrolment by another process
                secret = store.kiosk_secret(kiosk_id, fresh=True)
                if secret is None or not signing.signature_ok(secret, canonical, sig):
                    return "bad_signature", "X-Signature does not match the canonical request"
            if not store.use_nonce(kiosk_id, nonce, now, float(signing.WINDOW_S)):
                return "replayed_nonce", "this X-Nonce was already used"
            return None

        rejection = check()
        if rejection is not None:
            return rejection
        scope.setdefault("state", {})["kiosk_id"] = kiosk_id
        return None


async def _swallow(_message: Message) -> None:
    return None
