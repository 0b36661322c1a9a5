"""The kiosk's HTTP client of Platform API v1 (docs/platform-api.md).

Contract
--------
* One pooled ``requests.Session`` per client (keep-alive to the platform); every call has a
  timeout (``PlatformConfig.timeout_s`` unless the call passes its own). TLS certificates are
  verified for ``https`` URLs (``verify_tls``: True, False, or a CA bundle path).
* Every request under ``/api/v1`` except the health check is signed (:mod:`offline.signing`)
  *per attempt*: a retry gets a fresh nonce and timestamp, because the platform refuses a
  reused nonce. That is why retries are done here and not by urllib3's ``Retry``.
* Retries, with exponential backoff and full jitter, only for calls that are safe to repeat:
  ``GET`` and calls carrying an ``Idempotency-Key``; and only for "unavailable" outcomes
  (connection refused or dropped, timeout, 5xx, 429). A 4xx is never retried. While the link
  is known to be down a call is tried once, so a citizen is not kept waiting through backoff.
* Answers are typed: bodies parse into :mod:`offline.models`; failures raise the typed errors
  of :mod:`offline.errors` (auth with the 401 reason, validation with field errors, conflict,
  rejected, unavailable).
* Every attempt's outcome is reported to :attr:`PlatformClient.link` (online/offline), whose
  probe calls :meth:`PlatformClient.probe` while the link is down.

Threading: a client may be used from several threads at once (the sender's workers and
callers on device/flow threads). The session holds no per-call state (no cookies or auth
objects); urllib3's pool is thread-safe.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from requests.adapters import HTTPAdapter

from config.logs import Safe
from config.schema import PlatformConfig
from offline.errors import (
    FieldError,
    PlatformAuthError,
    PlatformConflictError,
    PlatformError,
    PlatformProtocolError,
    PlatformRejectedError,
    PlatformTooLargeError,
    PlatformUnavailableError,
    PlatformValidationError,
)
from offline.link import LinkMonitor, LinkState
from offline.models import (
    Benefits,
    CaseReceipt,
    CaseStatus,
    Catalog,
    CertificateIssued,
    CodeVerification,
    EvaluationReceipt,
    FaceMatch,
    Health,
    HeartbeatAck,
    InvoiceCheck,
    Licences,
    QueueTicket,
    UserInfo,
)
from offline.signing import new_nonce, sign_headers

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

API = "/api/v1"
USER_AGENT = "quanban-kiosk/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits U(0, min(cap, base * 2**n))."""

    attempts: int = 3
    base_s: float = 0.2
    cap_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.cap_s, self.base_s * (2**attempt)))  # noqa: S311


@dataclass(frozen=True)
class Answer:
    """A successful HTTP answer: status, parsed JSON body (or None), headers."""

    status: int
    body: Any
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True)
class Download:
    """A binary answer (a document file): its bytes and content type."""

    content: bytes = field(repr=False)
    content_type: str


@dataclass(frozen=True)
class CatalogFetch:
    """Result of a conditional catalogue fetch: ``catalog`` is None when not modified."""

    catalog: Catalog | None
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.catalog is None


def read_secret_file(path: Path) -> str:
    """The enrolment secret: the file's text (or its ``secret`` field if it is JSON)."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        doc = json.loads(text)
        secret = doc.get("secret") if isinstance(doc, dict) else None
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"{path} holds JSON without a 'secret' string")
        return secret
    if not text:
        raise ValueError(f"{path} is empty")
    return text


def encode_body(payload: Any) -> bytes:
    """The exact bytes sent (and hashed for the signature) for a JSON body."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class PlatformClient:
    """Signed, typed, retrying access to the platform. See the module docstring."""

    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        secret: str,
        *,
        timeout_s: float = 10.0,
        verify_tls: bool | str | Path = True,
        retry: RetryPolicy | None = None,
        probe_interval_s: float = 5.0,
        pool_size: int = 8,
        clock: Callable[[], float] = time.time,
        nonce_factory: Callable[[], str] = new_nonce,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self._secret = secret
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._nonce = nonce_factory
        self._sleep = sleep
        self._verify: bool | str = (
            True if not self.base_url.startswith("https") else _verify_arg(verify_tls)
        )
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment for the platform link
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.link = LinkMonitor(self.probe, interval_s=probe_interval_s)

    @classmethod
    def from_config(cls, cfg: PlatformConfig, *, secret: str | None = None) -> PlatformClient:
        if secret is None:
            if cfg.secret_file is None:
                raise ValueError("platform.secret_file is not set and no secret was given")
            secret = read_secret_file(cfg.secret_file)
        return cls(
            cfg.url,
            cfg.kiosk_id,
            secret,
            timeout_s=cfg.timeout_s,
            verify_tls=cfg.verify_tls,
            probe_interval_s=cfg.probe_interval_s,
        )

    def close(self) -> None:
        self.link.close()
        self.session.close()

    # -- the one request path ----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        signed: bool = True,
        timeout_s: float | None = None,
        attempts: int | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        max_bytes: int | None = None,
    ) -> Answer:
        """Send one logical call (retried if safe); return a 2xx answer or raise a typed error.

        ``ok_statuses`` lists non-2xx statuses the caller handles itself (e.g. 304).
        ``max_bytes`` caps the answer's body: it is streamed, and a longer one (declared or
        as it arrives) is abandoned with :class:`PlatformTooLargeError`, never retried.
        """
        method = method.upper()
        body = None if json_body is None else encode_body(json_body)
        safe_to_repeat = method in {"GET", "HEAD"} or idempotency_key is not None
        tries = (attempts or self.retry.attempts) if safe_to_repeat else 1
        if self.link.state == LinkState.OFFLINE:
            tries = 1
        prepared = self._prepare(
            method,
            path=path,
            params=params,
            body=body,
            idempotency_key=idempotency_key,
            extra_headers=extra_headers,
        )
        for attempt in range(tries):
            try:
                return self._attempt(
                    prepared, body, signed, timeout_s, ok_statuses, max_bytes=max_bytes
                )
            except PlatformUnavailableError:
                if attempt + 1 >= tries:
                    raise
                # Only the resource's first segments: ids further on may be personal.
                endpoint = "/".join(path.split("/")[:4])
                log.info(
                    "platform call failed, retrying",
                    extra={"endpoint": endpoint, "method": method, "attempt": attempt + 1},
                )
                self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _prepare(
        self,
        method: str,
        *,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        idempotency_key: str | None,
        extra_headers: Mapping[str, str] | None,
    ) -> requests.PreparedRequest:
        headers: dict[str, str] = dict(extra_headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        req = requests.Request(
            method, self.base_url + path, params=dict(params or {}), data=body, headers=headers
        )
        return self.session.prepare_request(req)

    def _attempt(
        self,
        prepared: requests.PreparedRequest,
        body: bytes | None,
        signed: bool,
        timeout_s: float | None,
        ok_statuses: frozenset[int],
        *,
        max_bytes: int | None = None,
    ) -> Answer:
        attempt = prepared.copy()
        if signed:
            attempt.headers.update(
                sign_headers(
                    method=attempt.method or "GET",
                    url=attempt.url or "",
                    body=body,
                    kiosk_id=self.kiosk_id,
                    secret=self._secret,
                    timestamp=int(self._clock()),
                    nonce=self._nonce(),
                )
            )
        try:
            resp = self.session.send(
                attempt,
                timeout=timeout_s or self.timeout_s,
                verify=self._verify,
                stream=max_bytes is not None,
            )
            if max_bytes is not None:
                with resp:
                    _read_capped(resp, max_bytes)
        except requests.exceptions.SSLError as err:
            self.link.call_failed("TLS failure")
            raise PlatformUnavailableError("TLS verification of the platform failed") from err
        except requests.exceptions.Timeout as err:
            self.link.call_failed("timeout")
            raise PlatformUnavailableError("the platform did not answer in time") from err
        except requests.exceptions.RequestException as err:
            self.link.call_failed("connection failed")
            raise PlatformUnavailableError(
                f"cannot reach the platform ({type(err).__name__})"
            ) from err
        status = resp.status_code
        if status >= 500 or status == 429:
            self.link.call_failed(f"HTTP {status}")
            raise PlatformUnavailableError(
                f"the platform is unavailable (HTTP {status})", status_code=status
            )
        self.link.call_succeeded()
        parsed = _json_or_none(resp)
        if 200 <= status < 300 or status in ok_statuses:
            return Answer(status, parsed, resp.headers, resp.content)
        raise _error_from(status, parsed)

    # -- typed endpoints ---------------------------------------------------------------

    def probe(self) -> bool:
        """Cheap health check for the link monitor: no signature, no retry, short timeout."""
        try:
            resp = self.session.get(
                self.base_url + API + "/health",
                timeout=min(self.timeout_s, 3.0),
                verify=self._verify,
            )
        except requests.exceptions.RequestException:
            return False
        return resp.status_code == 200

    def health(self) -> Health:
        return _parse(Health, self.request("GET", API + "/health", signed=False).body)

    def catalog(self, etag: str | None = None) -> CatalogFetch:
        headers = {"If-None-Match": etag} if etag else None
        ans = self.request(
            "GET", API + "/catalog", extra_headers=headers, ok_statuses=frozenset({304})
        )
        if ans.status == 304:
            return CatalogFetch(None, etag)
        catalog = _parse(Catalog, ans.body)
        return CatalogFetch(catalog, ans.headers.get("ETag") or catalog.version)

    def verify_code(self, code: str) -> CodeVerification:
        ans = self.request("POST", API + "/identity/verify-code", json_body={"code": code})
        return _parse(CodeVerification, ans.body)

    def user_info(self, holder_ref: str, *, scope: list[str], at: str) -> UserInfo:
        body = {"holder_ref": holder_ref, "consent": {"granted": True, "scope": scope, "at": at}}
        return _parse(
            UserInfo, self.request("POST", API + "/identity/user-info", json_body=body).body
        )

    def face_match(
        self, image_jpeg_b64: str, *, id_number: str | None = None, holder_ref: str | None = None
    ) -> FaceMatch:
        body: dict[str, Any] = {"image_jpeg_b64": image_jpeg_b64}
        if id_number is not None:
            body["id_number"] = id_number
        if holder_ref is not None:
            body["holder_ref"] = holder_ref
        return _parse(
            FaceMatch, self.request("POST", API + "/identity/face-match", json_body=body).body
        )

    def licences(self, holder_id_number: str) -> Licences:
        ans = self.request("GET", API + "/licences", params={"holder": holder_id_number})
        return _parse(Licences, ans.body)

    def licence_pdf(self, licence_id: str) -> bytes:
        return self.request("GET", f"{API}/licences/{_seg(licence_id)}/pdf").content

    def benefits(self, holder_id_number: str) -> Benefits:
        ans = self.request("GET", API + "/benefits", params={"holder": holder_id_number})
        return _parse(Benefits, ans.body)

    def submit_case(self, case: Mapping[str, Any], idempotency_key: str) -> CaseReceipt:
        ans = self.request("POST", API + "/cases", json_body=case, idempotency_key=idempotency_key)
        return _parse(CaseReceipt, ans.body)

    def case_status(self, case_number: str) -> CaseStatus:
        return _parse(CaseStatus, self.request("GET", f"{API}/cases/{_seg(case_number)}").body)

    def submit_evaluation(
        self, evaluation: Mapping[str, Any], idempotency_key: str
    ) -> EvaluationReceipt:
        ans = self.request(
            "POST", API + "/evaluations", json_body=evaluation, idempotency_key=idempotency_key
        )
        return _parse(EvaluationReceipt, ans.body)

    def submit_audit_events(self, batch: Mapping[str, Any], idempotency_key: str) -> Any:
        ans = self.request(
            "POST", API + "/audit-events", json_body=batch, idempotency_key=idempotency_key
        )
        return ans.body

    def certificate(
        self,
        item_code: str,
        *,
        id_number: str | None = None,
        holder_ref: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> CertificateIssued:
        """Issue a certificate (证明) of ``item_code`` for one holder (give one of the ids)."""
        body: dict[str, Any] = {"item_code": item_code, "params": dict(params or {})}
        if id_number is not None:
            body["id_number"] = id_number
        else:
            body["holder_ref"] = holder_ref
        answer = self.request("POST", API + "/certificates", json_body=body)
        return _parse(CertificateIssued, answer.body)

    def document_pdf(self, document_ref: str) -> bytes:
        """The PDF rendition of an issued certificate."""
        return self.request("GET", f"{API}/documents/{_seg(document_ref)}/pdf").content

    def assist_document(self, sid: str, doc_id: str, *, max_bytes: int) -> Download:
        """A document the remote assistant pushed to help session ``sid`` (at most
        ``max_bytes``; else :class:`PlatformTooLargeError`). The caller checks its hash."""
        ans = self.request(
            "GET",
            f"{API}/assist/requests/{_seg(sid)}/documents/{_seg(doc_id)}",
            extra_headers={"Accept": "application/pdf, image/png, image/jpeg"},
            max_bytes=max_bytes,
        )
        return Download(ans.content, ans.headers.get("Content-Type", "").split(";")[0].strip())

    def check_invoice(
        self, invoice_code: str, *, invoice_date: str | None = None, amount: str | None = None
    ) -> InvoiceCheck:
        """发票查验: is the invoice in the tax authority's register, with this date and amount?"""
        body = {"invoice_code": invoice_code, "invoice_date": invoice_date, "amount": amount}
        answer = self.request("POST", API + "/invoices/check", json_body=body)
        return _parse(InvoiceCheck, answer.body)

    def queue_ticket(self, category: str, holder_ref: str | None = None) -> QueueTicket:
        body = {"category": category, "holder_ref": holder_ref}
        return _parse(
            QueueTicket, self.request("POST", API + "/queue-tickets", json_body=body).body
        )

    def heartbeat(self, status: Mapping[str, Any]) -> HeartbeatAck:
        path = f"{API}/kiosks/{_seg(self.kiosk_id)}/heartbeat"
        return _parse(HeartbeatAck, self.request("POST", path, json_body=status).body)


def _read_capped(resp: requests.Response, max_bytes: int) -> None:
    """Read a streamed body into ``resp`` (so ``content`` and ``json()`` work as usual), or
    raise :class:`PlatformTooLargeError` once it is over ``max_bytes``."""
    declared = resp.headers.get("Content-Length", "")
    too_large = PlatformTooLargeError(
        f"the answer is over {max_bytes} bytes", status_code=resp.status_code
    )
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    data = bytearray()
    for chunk in resp.iter_content(64 * 1024):
        data += chunk
        if len(data) > max_bytes:
            raise too_large
    resp._content = bytes(data)  # what requests itself does when it reads the body


def _verify_arg(value: bool | str | Path) -> bool | str:
    return str(value) if isinstance(value, Path) else value


def _seg(value: str) -> str:
    return quote(value, safe="")


def _json_or_none(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _parse(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except PydanticValidationError as err:
        log.warning("platform answer breaks the contract", extra={"code": Safe(model.__name__)})
        raise PlatformProtocolError(
            f"the platform's answer is not a valid {model.__name__} ({err.error_count()} errors)"
        ) from err


def _error_from(status: int, body: Any) -> PlatformError:
    doc = body if isinstance(body, dict) else {}
    error_code = doc.get("error") if isinstance(doc.get("error"), str) else None
    if status == 401:
        reason = doc.get("reason")
        return PlatformAuthError(reason if isinstance(reason, str) else "unknown")
    if status == 409:
        return PlatformConflictError(
            f"conflict: {error_code or 'conflict'}", status_code=409, error_code=error_code
        )
    if status == 422:
        fields: list[FieldError] = []
        raw_fields = doc.get("fields")
        for f in raw_fields if isinstance(raw_fields, list) else []:
            if isinstance(f, dict):
                raw_loc = f.get("loc")
                loc_items = raw_loc if isinstance(raw_loc, list) else []
                loc = tuple(p for p in loc_items if isinstance(p, str | int))
                fields.append(FieldError(loc, str(f.get("msg", ""))))
        return PlatformValidationError(fields, message=error_code or "")
    suffix = f", {error_code}" if error_code else ""
    return PlatformRejectedError(
        f"the platform refused the request (HTTP {status}{suffix})",
        status_code=status,
        error_code=error_code,
    )
