"""The FastAPI application: every endpoint of Platform API v1 plus the sandbox's admin API.

Request path: uvicorn → :class:`sandbox.gateway.Gateway` (size limit, faults, signature
check; it stores the authenticated kiosk id in ``scope["state"]["kiosk_id"]``) → this app.
Handlers are plain ``def`` functions, so FastAPI runs them on its worker thread pool; the
database layer is thread-safe (see :mod:`sandbox.db`). Error bodies follow the contract:
``{"error", "message"}`` and, for 422, ``"fields": [{"loc", "msg"}]``.

The face match is a **stand-in**: it validates that the image is a well-formed JPEG and
returns a score derived deterministically from the holder and the image bytes (always in
0.82-0.99, i.e. a match), unless an admin override fixes the holder's score
(``PUT /admin/holders/{holder_ref}/face``), which is how tests force "no match". It does not
compare faces.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox import certificates, idnumber, models
from sandbox.evaluation import LEVEL_TEXT, normalise
from sandbox.faults import FaultPlan, FaultState
from sandbox.jpeg import JpegError, jpeg_size
from sandbox.pdf import PdfUnavailableError, render_document, render_licence
from sandbox.store import CST, ConflictError, Store, Submitted, canonical_sha256

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
FACE_THRESHOLD = 0.80
HALL = "济南市民中心政务服务大厅"
TICKET_PREFIX = {"general": "A", "yijianshi": "B", "tax": "C", "certificate": "D"}


@dataclass
class Context:
    store: Store
    faults: FaultState
    admin_token: str
    auth_rejections: dict[str, int] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer in the contract's shape."""

    def __init__(self, status: int, error: str, message: str = "", **extra: Any) -> None:
        super().__init__(error)
        self.status, self.error, self.message, self.extra = status, error, message, extra


def field_error(loc: list[str | int], msg: str) -> ApiError:
    return ApiError(422, "validation_error", "invalid request", fields=[{"loc": loc, "msg": msg}])


# Documented in OpenAPI only; the gateway does the checking (it needs the raw body).
_AUTH_HEADERS = ("X-Kiosk-Id", "X-Timestamp", "X-Nonce", "X-Signature")
_doc_headers = [
    Depends(
        APIKeyHeader(
            name=name,
            auto_error=False,
            scheme_name=name,
            description="Request signing header; see docs/platform-api.md",
        )
    )
    for name in _AUTH_HEADERS
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.UnauthorizedBody, "description": "Signature check failed"},
    422: {"model": models.ValidationErrorBody, "description": "Invalid request"},
    503: {"model": models.ErrorBody, "description": "Unavailable (injected fault)"},
}
IdemKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


async def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def kiosk_of(request: Request) -> str:
    kiosk_id = request.scope.get("state", {}).get("kiosk_id")
    if not isinstance(kiosk_id, str):  # only reachable when the app runs without the gateway
        raise ApiError(
            401, "unauthorized", "request was not authenticated", reason="missing_headers"
        )
    return kiosk_id


CtxDep = Annotated[Context, Depends(ctx_of)]
KioskDep = Annotated[str, Depends(kiosk_of)]


def _holder_from_query(ctx: Context, holder: str) -> dict[str, Any] | None:
    problem = idnumber.validate(holder)
    if problem:
        raise field_error(["query", "holder"], f"not a valid identity number: {problem}")
    return ctx.store.holder(id_number=holder)


def _idempotent(submit: Callable[[], Submitted], response: Response | None = None) -> Submitted:
    """Run an Idempotency-Key submission: the same key and body again answers 200 (when the
    endpoint answers 201 for a new one, i.e. ``response`` is given); another body → 409."""
    try:
        result = submit()
    except ConflictError:
        raise ApiError(
            409, "idempotency_conflict", "this Idempotency-Key was used with another body"
        ) from None
    if response is not None and not result.created:
        response.status_code = 200
    return result


def _pdf_response(
    render: Callable[[dict[str, Any]], bytes], row: dict[str, Any] | None, missing: str
) -> Response:
    """A stored row's PDF rendition (404 when there is no row, 503 without the CJK font)."""
    if row is None:
        raise ApiError(404, "not_found", missing)
    try:
        pdf = render(row)
    except PdfUnavailableError as exc:
        raise ApiError(503, "pdf_unavailable", str(exc)) from exc
    return Response(pdf, media_type="application/pdf")


def _licence_view(row: dict[str, Any]) -> models.Licence:
    return models.Licence(
        id=row["id"],
        type=row["type"],
        type_name=row["type_name"],
        number=row["number"],
        holder_name=row["holder_name"],
        issuer=row["issuer"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        pdf_path=f"/api/v1/licences/{row['id']}/pdf",
    )


def catalog_version(items: list[dict[str, Any]]) -> str:
    return canonical_sha256(items)[:32]


def _etag_matches(header: str | None, version: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}
    return version in tags


# --- public API --------------------------------------------------------------------------

public = APIRouter(prefix="/api/v1")
api = APIRouter(prefix="/api/v1", dependencies=_doc_headers, responses=_ERRORS)


@public.get("/health", response_model=models.Health, tags=["platform"])
def health() -> models.Health:
    return models.Health(status="ok", version=API_VERSION, time=datetime.now(CST))


@api.get(
    "/catalog",
    response_model=models.Catalog,
    tags=["catalogue"],
    responses={304: {"description": "Not modified (If-None-Match matched the ETag)"}},
)
def get_catalog(
    ctx: CtxDep,
    _kiosk: KioskDep,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    items = ctx.store.catalog()
    version = catalog_version(items)
    headers = {"ETag": f'"{version}"', "Cache-Control": "no-cache"}
    if _etag_matches(if_none_match, version):
        return Response(status_code=304, headers=headers)
    return JSONResponse({"version": version, "items": items}, headers=headers)


@api.post("/identity/verify-code", response_model=models.VerifyCodeResponse, tags=["identity"])
def verify_code(
    body: models.VerifyCodeRequest, ctx: CtxDep, _kiosk: KioskDep
) -> models.VerifyCodeResponse:
    row = ctx.store.lookup_code(body.code)
    if row is None:
        return models.VerifyCodeResponse(result="rejected", holder_ref=None, expires_in=None)
    left = row["expires_at"] - time.time()
    if left <= 0:
        return models.VerifyCodeResponse(result="expired", holder_ref=None, expires_in=None)
    return models.VerifyCodeResponse(
        result="valid", holder_ref=row["holder_ref"], expires_in=max(1, math.ceil(left))
    )


@api.post(
    "/identity/user-info",
    response_model=models.UserInfo,
    tags=["identity"],
    responses={403: {"model": models.ErrorBody}, 404: {"model": models.ErrorBody}},
)
def user_info(body: models.UserInfoRequest, ctx: CtxDep, _kiosk: KioskDep) -> models.UserInfo:
    if body.consent is None or not body.consent.granted:
        raise ApiError(403, "consent_required", "the citizen has not granted consent")
    holder = ctx.store.holder(holder_ref=body.holder_ref)
    if holder is None:
        raise ApiError(404, "unknown_holder", "no holder with this reference")
    return models.UserInfo(**{k: holder[k] for k in models.UserInfo.model_fields})


@api.post(
    "/identity/face-match",
    response_model=models.FaceMatchResponse,
    tags=["identity"],
    responses={404: {"model": models.ErrorBody}},
)
def face_match(
    body: models.FaceMatchRequest, ctx: CtxDep, _kiosk: KioskDep
) -> models.FaceMatchResponse:
    if (body.holder_ref is None) == (body.id_number is None):
        raise field_error(["body", "holder_ref"], "give exactly one of holder_ref and id_number")
    try:
        image = base64.b64decode(body.image_jpeg_b64, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(["body", "image_jpeg_b64"], "not valid base64") from None
    try:
        jpeg_size(image)
    except JpegError as exc:
        raise field_error(["body", "image_jpeg_b64"], f"not a JPEG image: {exc}") from None
    holder = ctx.store.holder(holder_ref=body.holder_ref, id_number=body.id_number)
    if holder is None:
        raise ApiError(404, "unknown_holder", "no holder with this reference or number")
    score = holder["face_score"]
    if score is None:
        digest = hashlib.sha256(holder["holder_ref"].encode() + image).digest()
        score = 0.82 + 0.17 * int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
    score = round(float(score), 4)
    return models.FaceMatchResponse(
        score=score, threshold=FACE_THRESHOLD, match=score >= FACE_THRESHOLD
    )


@api.get("/licences", response_model=models.Licences, tags=["licences"])
def licences(
    ctx: CtxDep,
    _kiosk: KioskDep,
    holder: Annotated[str, Query(min_length=1, max_length=64, description="ID number")],
) -> models.Licences:
    row = _holder_from_query(ctx, holder)
    rows = ctx.store.licences_of(row["holder_ref"]) if row else []
    return models.Licences(licences=[_licence_view(r) for r in rows])


@api.get(
    "/licences/{licence_id}/pdf",
    tags=["licences"],
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "PDF rendition"},
        404: {"model": models.ErrorBody},
    },
)
def licence_pdf(
    ctx: CtxDep, _kiosk: KioskDep, licence_id: Annotated[str, PathParam(max_length=64)]
) -> Response:
    return _pdf_response(render_licence, ctx.store.licence(licence_id), "no such licence")


@api.get("/benefits", response_model=models.Benefits, tags=["licences"])
def benefits(
    ctx: CtxDep,
    _kiosk: KioskDep,
    holder: Annotated[str, Query(min_length=1, max_length=64, description="ID number")],
) -> models.Benefits:
    row = _holder_from_query(ctx, holder)
    rows = ctx.store.benefits_of(row["holder_ref"]) if row else []
    return models.Benefits(
        benefits=[models.Benefit(**{k: r[k] for k in models.Benefit.model_fields}) for r in rows]
    )


def _check_page(index: int, material: models.CaseMaterial) -> None:
    """A captured material carries its page as a base64 JPEG; other materials carry none."""
    loc: list[str | int] = ["body", "materials", index, "content_b64"]
    if material.source != "captured":
        if material.content_b64 is not None:
            raise field_error(loc, "only a captured material carries a page")
        return
    if not material.content_b64:
        raise field_error(loc, "a captured material needs its page (a base64 JPEG)")
    try:
        page = base64.b64decode(material.content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(loc, "not valid base64") from None
    try:
        jpeg_size(page)
    except JpegError as exc:
        raise field_error(loc, f"not a JPEG image: {exc}") from None


@api.post(
    "/cases",
    response_model=models.CaseCreated,
    status_code=201,
    tags=["cases"],
    responses={
        200: {"model": models.CaseCreated, "description": "Same key and body: the same case"},
        409: {"model": models.ErrorBody, "description": "Same key, another body"},
    },
)
async def submit_case(
    body: models.CaseSubmission,
    ctx: CtxDep,
    kiosk_id: KioskDep,
    idempotency_key: IdemKey,
    response: Response,
) -> models.CaseCreated:
    # async, with the store called inline: the hottest endpoint (every queued case) does two
    # short SQLite statements, cheaper than the thread-pool hop of a sync endpoint
    if body.kiosk_id != kiosk_id:
        raise field_error(["body", "kiosk_id"], "does not match the signing kiosk (X-Kiosk-Id)")
    if not ctx.store.item_exists(body.item_code):
        raise field_error(["body", "item_code"], "unknown item code")
    for i, material in enumerate(body.materials):
        _check_page(i, material)
    result = _idempotent(
        lambda: ctx.store.submit_case(kiosk_id, idempotency_key, body.model_dump(mode="json")),
        response,
    )
    if result.created:
        log.info("case received", extra={"case_number": result.row["case_number"]})
    row = result.row
    return models.CaseCreated(
        case_number=row["case_number"], status=row["status"], created_at=row["created_at"]
    )


@api.get(
    "/cases/{case_number}",
    response_model=models.CaseStatus,
    tags=["cases"],
    responses={404: {"model": models.ErrorBody}},
)
def case_status(
    ctx: CtxDep, _kiosk: KioskDep, case_number: Annotated[str, PathParam(max_length=64)]
) -> models.CaseStatus:
    row = ctx.store.case(case_number)
    if row is None:
        raise ApiError(404, "not_found", "no such case")
    return models.CaseStatus(**{k: row[k] for k in models.CaseStatus.model_fields})


@api.post(
    "/evaluations",
    response_model=models.EvaluationCreated,
    status_code=201,
    tags=["evaluations"],
    responses={
        200: {"model": models.EvaluationCreated, "description": "Same key and body again"},
        409: {"model": models.ErrorBody, "description": "Same key, another body"},
    },
)
def submit_evaluation(
    body: models.EvaluationSubmission,
    ctx: CtxDep,
    kiosk_id: KioskDep,
    idempotency_key: IdemKey,
    response: Response,
) -> models.EvaluationCreated:
    if not ctx.store.item_exists(body.item_code):
        raise field_error(["body", "item_code"], "unknown item code")
    if body.case_number is not None and ctx.store.case(body.case_number) is None:
        raise field_error(["body", "case_number"], "unknown case number")
    level = normalise(body.satisfaction, body.code_order)
    result = _idempotent(
        lambda: ctx.store.submit_evaluation(
            kiosk_id, idempotency_key, body.model_dump(mode="json"), level, LEVEL_TEXT[level]
        ),
        response,
    )
    return models.EvaluationCreated(
        evaluation_id=result.row["evaluation_id"], level=result.row["level_text"]
    )


@api.post(
    "/audit-events",
    response_model=models.AuditAccepted,
    status_code=202,
    tags=["platform"],
    responses={409: {"model": models.ErrorBody}},
)
def audit_events(
    body: models.AuditBatch, ctx: CtxDep, kiosk_id: KioskDep, idempotency_key: IdemKey
) -> models.AuditAccepted:
    result = _idempotent(
        lambda: ctx.store.submit_audit(kiosk_id, idempotency_key, body.model_dump(mode="json"))
    )
    return models.AuditAccepted(accepted=int(result.row["count"]))


@api.post(
    "/certificates",
    response_model=models.CertificateIssued,
    status_code=201,
    tags=["licences"],
    responses={404: {"model": models.ErrorBody}},
)
def issue_certificate(
    body: models.CertificateRequest, ctx: CtxDep, _kiosk: KioskDep
) -> models.CertificateIssued:
    """A certificate (证明) of the item for the holder, rendered as a PDF document."""
    if (body.id_number is None) == (body.holder_ref is None):
        raise field_error(["body", "id_number"], "give exactly one of id_number and holder_ref")
    if body.item_code not in certificates.TITLES:
        raise field_error(["body", "item_code"], "this item issues no certificate")
    holder = ctx.store.holder(holder_ref=body.holder_ref, id_number=body.id_number)
    if holder is None:
        raise ApiError(404, "unknown_holder", "no holder with this reference or number")
    try:
        rows = certificates.certificate_rows(body.item_code, holder, dict(body.params))
    except ValueError as exc:
        raise field_error(["body", "params"], str(exc)) from None
    doc = ctx.store.issue_document(
        holder["holder_ref"], body.item_code, certificates.TITLES[body.item_code], rows
    )
    return models.CertificateIssued(
        document_ref=doc["ref"], title=doc["title"], pages=1, issued_at=doc["issued_at"]
    )


@api.get(
    "/documents/{ref}/pdf",
    response_class=Response,
    tags=["licences"],
    responses={
        200: {"content": {"application/pdf": {}}, "description": "PDF rendition"},
        404: {"model": models.ErrorBody},
    },
)
def document_pdf(
    ctx: CtxDep, _kiosk: KioskDep, ref: Annotated[str, PathParam(max_length=64)]
) -> Response:
    return _pdf_response(render_document, ctx.store.document(ref), "no such document")


@api.post("/invoices/check", response_model=models.InvoiceCheck, tags=["platform"])
def invoice_check(
    body: models.InvoiceCheckRequest, _ctx: CtxDep, _kiosk: KioskDep
) -> models.InvoiceCheck:
    """发票查验 against the sandbox's synthetic invoice register."""
    result, text = certificates.check_invoice(body.invoice_code, body.invoice_date, body.amount)
    return models.InvoiceCheck(result=result, result_text=text)


@api.post("/queue-tickets", response_model=models.QueueTicket, tags=["platform"])
def queue_ticket(
    body: models.QueueTicketRequest, ctx: CtxDep, _kiosk: KioskDep
) -> models.QueueTicket:
    if body.holder_ref is not None and ctx.store.holder(holder_ref=body.holder_ref) is None:
        raise field_error(["body", "holder_ref"], "unknown holder")
    prefix = TICKET_PREFIX.get(body.category, "E")
    ticket, waiting = ctx.store.issue_ticket(body.category, prefix, time.time())
    return models.QueueTicket(ticket=ticket, waiting=waiting, hall=HALL)


@api.post(
    "/kiosks/{kiosk_id}/heartbeat",
    response_model=models.HeartbeatAck,
    tags=["platform"],
    responses={403: {"model": models.ErrorBody}},
)
def heartbeat(
    body: models.Heartbeat,
    ctx: CtxDep,
    signer: KioskDep,
    kiosk_id: Annotated[str, PathParam(max_length=128)],
) -> models.HeartbeatAck:
    if kiosk_id != signer:
        raise ApiError(403, "forbidden", "a kiosk may only report its own heartbeat")
    ctx.store.record_heartbeat(kiosk_id, body.model_dump(mode="json"))
    return models.HeartbeatAck(server_time=datetime.now(CST))


# --- admin API (sandbox only) -----------------------------------------------------------


async def require_admin(
    request: Request,
    x_admin_token: Annotated[str | None, Header(max_length=256)] = None,
) -> None:
    token = (await ctx_of(request)).admin_token
    if x_admin_token is None or not hmac.compare_digest(x_admin_token.encode(), token.encode()):
        raise ApiError(403, "forbidden", "X-Admin-Token missing or wrong")


admin = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={403: {"model": models.ErrorBody}, 422: {"model": models.ValidationErrorBody}},
)


@admin.get("/faults", response_model=FaultPlan)
def get_faults(ctx: CtxDep) -> FaultPlan:
    return ctx.faults.plan


@admin.put("/faults", response_model=FaultPlan)
def put_faults(plan: FaultPlan, ctx: CtxDep) -> FaultPlan:
    ctx.faults.plan = plan
    log.warning("faults set", extra={"count": len(plan.rules)})
    return plan


@admin.delete("/faults", response_model=FaultPlan)
def delete_faults(ctx: CtxDep) -> FaultPlan:
    ctx.faults.plan = FaultPlan()
    return ctx.faults.plan


@admin.get("/stats", response_model=models.Stats)
def stats(ctx: CtxDep) -> models.Stats:
    return models.Stats(
        **ctx.store.counts(),
        injected_errors=ctx.faults.injected_errors,
        injected_drops=ctx.faults.injected_drops,
        outage_answers=ctx.faults.outage_answers,
        auth_rejections=dict(ctx.auth_rejections),
    )


@admin.get("/cases")
def admin_cases(ctx: CtxDep) -> list[dict[str, Any]]:
    return [
        {k: r[k] for k in r if k not in ("body", "id")} | {"body": r["body"]}
        for r in ctx.store.cases()
    ]


@admin.get("/audit-events")
def admin_audit_events(
    ctx: CtxDep, session_id: Annotated[str | None, Query(max_length=128)] = None
) -> list[dict[str, Any]]:
    """Audit events kiosks uploaded (``/api/v1/audit-events``), of one session if given."""
    return ctx.store.audit_events(session_id)


@admin.put("/cases/{case_number}/status", response_model=models.CaseStatus, responses={404: {}})
def admin_case_status(
    change: models.CaseStatusChange,
    ctx: CtxDep,
    case_number: Annotated[str, PathParam(max_length=64)],
) -> models.CaseStatus:
    if not ctx.store.set_case_status(case_number, change.status):
        raise ApiError(404, "not_found", "no such case")
    row = ctx.store.case(case_number)
    assert row is not None
    return models.CaseStatus(**{k: row[k] for k in models.CaseStatus.model_fields})


@admin.get("/holders")
def admin_holders(ctx: CtxDep) -> list[dict[str, Any]]:
    return ctx.store.holders()


@admin.put("/holders/{holder_ref}/face", responses={404: {}})
def admin_face(
    override: models.FaceOverride, ctx: CtxDep, holder_ref: Annotated[str, PathParam(max_length=64)]
) -> dict[str, Any]:
    if not ctx.store.set_face_score(holder_ref, override.score):
        raise ApiError(404, "unknown_holder", "no holder with this reference")
    return {"holder_ref": holder_ref, "score": override.score}


@admin.post("/codes", response_model=models.IssuedCode, status_code=201, responses={404: {}})
def admin_issue_code(req: models.IssueCodeRequest, ctx: CtxDep) -> models.IssuedCode:
    """Stand-in for the 爱山东 app: issue a 鲁通码 for a holder, valid for ``ttl_s`` seconds
    (a negative TTL issues an already expired code)."""
    if (req.holder_ref is None) == (req.id_number is None):
        raise field_error(["body", "holder_ref"], "give exactly one of holder_ref and id_number")
    holder = ctx.store.holder(holder_ref=req.holder_ref, id_number=req.id_number)
    if holder is None:
        raise ApiError(404, "unknown_holder", "no holder with this reference or number")
    code, expires = ctx.store.issue_code(holder["holder_ref"], req.ttl_s, time.time())
    return models.IssuedCode(code=code, holder_ref=holder["holder_ref"], expires_at=expires)


@admin.put("/catalog", response_model=models.Catalog)
def admin_catalog(items: list[models.CatalogItem], ctx: CtxDep) -> models.Catalog:
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise field_error(["body"], "duplicate item codes")
    dumped = [i.model_dump(mode="json") for i in items]
    ctx.store.replace_catalog(dumped)
    return models.Catalog(version=catalog_version(dumped), items=items)


# --- errors and assembly -----------------------------------------------------------------


def _json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json_error(exc.status, {"error": exc.error, "message": exc.message, **exc.extra})


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())], "msg": e["msg"]}
        for e in exc.errors()
    ]
    return _json_error(
        422, {"error": "validation_error", "message": "invalid request", "fields": fields}
    )


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error = _HTTP_CODES.get(exc.status_code, "http_error")
    return _json_error(
        exc.status_code, {"error": error, "message": str(exc.detail)}, dict(exc.headers or {})
    )


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Last resort: a bug. Logged with its (redacted) traceback; the body stays in the contract.
    log.error("unhandled error in a handler", exc_info=exc)
    return _json_error(500, {"error": "internal", "message": "unexpected server error"})


def create_app(ctx: Context | None) -> FastAPI:
    """The FastAPI app; ``ctx`` None builds it only for its OpenAPI document."""
    app = FastAPI(
        title="Quanban platform API (reference sandbox)",
        version=API_VERSION,
        description=(
            "Platform API v1 — the contract between the kiosk and the central platform. "
            "See docs/platform-api.md for signing, errors and semantics."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.include_router(public)
    app.include_router(api)
    app.include_router(admin)
    from sandbox import assist  # imported here: it imports this module (remote help, issue 9)

    assist.mount(app)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # The four signing headers are required together (FastAPI lists them as
            # alternatives); one requirement object means "all of these".
            together: dict[str, list[str]] = {name: [] for name in _AUTH_HEADERS}
            for ops in doc.get("paths", {}).values():
                for op in ops.values():
                    if "security" in op:
                        op["security"] = [together]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
