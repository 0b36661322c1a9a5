"""Request and response bodies of Platform API v1 (docs/platform-api.md), as pydantic models.

These models are the source of ``sandbox/openapi.json``. Requests are strict (unknown
fields rejected where the contract fixes the shape) and bounded (every string and list has
a maximum), so bad input becomes a ``422`` with field errors rather than reaching the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from sandbox import idnumber

Str64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Str128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}$")]
Category = Literal[
    "yijianshi", "self_service_24h", "tax", "certificate", "query", "cross_region", "benefit"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str
    message: str = ""


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class ValidationErrorBody(ErrorBody):
    fields: list[FieldError]


class UnauthorizedBody(ErrorBody):
    reason: Literal[
        "missing_headers", "unknown_kiosk", "stale_timestamp", "bad_signature", "replayed_nonce"
    ]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    time: datetime


# --- catalogue ---------------------------------------------------------------------------


class Material(_Strict):
    code: Str64
    name: Str128
    licence_type: Str64 | None = None
    required: bool = True
    waivable: bool = False


class CrossRegion(_Strict):
    accepting_office: Str128
    handling_office: Str128


class CatalogItem(_Strict):
    code: Str64
    name: Str128
    name_en: Annotated[str, StringConstraints(max_length=200)] = ""
    category: Category
    departments: list[Str64] = Field(default_factory=list)
    lead_department: Str64
    materials: list[Material] = Field(default_factory=list)
    channels: list[Literal["kiosk", "window", "online"]] = Field(default_factory=list)
    flow: Str64
    needs_online: bool = True
    remote_help: bool = False
    keywords: list[Str64] = Field(default_factory=list)
    cross_region: CrossRegion | None = None


class Catalog(BaseModel):
    version: str
    items: list[CatalogItem]


# --- identity ----------------------------------------------------------------------------


class VerifyCodeRequest(_Strict):
    code: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class VerifyCodeResponse(BaseModel):
    result: Literal["valid", "expired", "rejected"]
    holder_ref: str | None
    expires_in: int | None


class Consent(_Strict):
    granted: bool
    scope: list[Str64] = Field(default_factory=list, max_length=20)
    at: datetime


class UserInfoRequest(_Strict):
    holder_ref: Str64
    consent: Consent | None = None


class UserInfo(BaseModel):
    name: str
    id_number: str
    gender: str
    birth: str
    phone: str
    address: str


class FaceMatchRequest(_Strict):
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None
    holder_ref: Str64 | None = None
    image_jpeg_b64: Annotated[str, StringConstraints(min_length=4, max_length=8_000_000)]


class FaceMatchResponse(BaseModel):
    score: float = Field(ge=0, le=1)
    threshold: float
    match: bool


# --- licences and benefits -------------------------------------------------------------


class Licence(BaseModel):
    id: str
    type: str
    type_name: str
    number: str
    holder_name: str
    issuer: str
    valid_from: str
    valid_to: str | None
    pdf_path: str


class Licences(BaseModel):
    licences: list[Licence]


class Benefit(BaseModel):
    code: str
    name: str
    department: str
    amount_text: str
    status: str


class Benefits(BaseModel):
    benefits: list[Benefit]


# --- cases -------------------------------------------------------------------------------


class Applicant(_Strict):
    id_type: Literal["resident", "passport", "hk_macau_permit", "taiwan_permit", "foreigner"]
    id_number: Str64
    name: Str64
    phone: Annotated[str, StringConstraints(max_length=20)] | None = None

    @field_validator("id_number")
    @classmethod
    def _resident_number(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("id_type") == "resident":
            problem = idnumber.validate(value)
            if problem:
                raise ValueError(f"not a valid identity number: {problem}")
        return value


class CaseMaterial(_Strict):
    code: Str64
    source: Literal["licence", "captured", "waived"]
    licence_id: Str64 | None = None
    content_b64: str | None = Field(
        default=None,
        description=(
            "The page photographed by the kiosk's document camera, a JPEG in base64: "
            "required when source is 'captured', absent otherwise"
        ),
    )
    commitment: bool = False


class CaseSubmission(_Strict):
    item_code: Str64
    kiosk_id: Str128
    session_id: Str128
    applicant: Applicant
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[CaseMaterial] = Field(default_factory=list, max_length=100)
    submitted_at: datetime


class CaseCreated(BaseModel):
    case_number: str
    status: str
    created_at: str


class CaseStatus(BaseModel):
    case_number: str
    item_code: str
    status: Literal["received", "accepted", "in_progress", "completed", "rejected"]
    status_text: str
    created_at: str
    updated_at: str


# --- evaluations, audit, queue, heartbeat -----------------------------------------------


class EvaluationSubmission(_Strict):
    case_number: Str64 | None = None
    item_code: Str64
    satisfaction: int = Field(ge=1, le=5)
    code_order: Literal["five_is_best", "one_is_best"]
    reasons: list[Digits] = Field(default_factory=list, max_length=20)
    comment: Text = ""
    channel: Annotated[str, StringConstraints(pattern=r"^[1-7]$")] = "5"
    assessed_at: datetime


class EvaluationCreated(BaseModel):
    evaluation_id: str
    level: str


class AuditEvent(_Strict):
    type: Str64
    at: datetime
    session_id: Str128 | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class AuditBatch(_Strict):
    events: list[AuditEvent] = Field(min_length=1, max_length=1000)


class AuditAccepted(BaseModel):
    accepted: int


class CertificateRequest(_Strict):
    """Issue a certificate of ``item_code`` for a holder (give exactly one of the two ids).
    ``params`` are the citizen's choices (purpose, years, tax kind…)."""

    item_code: Str64
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None
    holder_ref: Str64 | None = None
    params: dict[Str64, Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=dict, max_length=20
    )


class CertificateIssued(BaseModel):
    document_ref: str
    title: str
    pages: int
    issued_at: datetime


class InvoiceCheckRequest(_Strict):
    invoice_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    invoice_date: Annotated[str, StringConstraints(max_length=10)] | None = None
    amount: Annotated[str, StringConstraints(max_length=20)] | None = None


class InvoiceCheck(BaseModel):
    result: Literal["consistent", "inconsistent", "not_found"]
    result_text: str


class QueueTicketRequest(_Strict):
    category: Str64
    holder_ref: Str64 | None = None


class QueueTicket(BaseModel):
    ticket: str
    waiting: int
    hall: str


class Heartbeat(_Strict):
    devices: dict[Str64, Str64] = Field(default_factory=dict)
    consumables: dict[Str64, float] = Field(default_factory=dict)
    queue_depth: int = Field(default=0, ge=0)
    version: Str64
    at: datetime | None = None


class HeartbeatAck(BaseModel):
    server_time: datetime


# --- admin -------------------------------------------------------------------------------


class IssueCodeRequest(_Strict):
    holder_ref: Str64 | None = None
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None
    ttl_s: float = Field(default=120.0, gt=-86400, le=86400)


class IssuedCode(BaseModel):
    code: str
    holder_ref: str
    expires_at: float


class FaceOverride(_Strict):
    score: float | None = Field(ge=0, le=1)


class CaseStatusChange(_Strict):
    status: Literal["received", "accepted", "in_progress", "completed", "rejected"]


class Stats(BaseModel):
    cases: int
    evaluations: int
    audit_events: int
    heartbeats: int
    queue_tickets: int
    kiosks: int
    injected_errors: int
    injected_drops: int
    outage_answers: int
    auth_rejections: dict[str, int]
