"""Typed bodies of Platform API v1 (docs/platform-api.md), as the kiosk reads them.

Response models are tolerant readers: unknown fields are ignored (the platform may add
fields within v1) but every field the kiosk relies on is required and typed, so a body that
breaks the contract fails here, at the boundary, as a :class:`PlatformProtocolError`.
Models holding personal data (``UserInfo``, ``Licence``) say so; never log them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Health(_Body):
    status: str
    version: str = ""
    time: str = ""


class Material(_Body):
    code: str
    name: str
    licence_type: str | None = None
    required: bool = True
    waivable: bool = False


class CrossRegion(_Body):
    accepting_office: str
    handling_office: str


class CatalogItem(_Body):
    code: str
    name: str
    name_en: str = ""
    category: str
    departments: list[str] = Field(default_factory=list)
    lead_department: str = ""
    materials: list[Material] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    flow: str = ""
    needs_online: bool = True
    remote_help: bool = False
    keywords: list[str] = Field(default_factory=list)
    cross_region: CrossRegion | None = None


class Catalog(_Body):
    version: str
    items: list[CatalogItem]


class CodeVerification(_Body):
    result: Literal["valid", "expired", "rejected"]
    holder_ref: str | None = None
    expires_in: int | None = None


class UserInfo(_Body):
    """Personal data."""

    name: str
    id_number: str
    gender: str | None = None
    birth: str | None = None
    phone: str | None = None
    address: str | None = None


class FaceMatch(_Body):
    score: float
    threshold: float
    match: bool


class Licence(_Body):
    """Personal data (holder name, licence number)."""

    id: str
    type: str
    type_name: str = ""
    number: str = ""
    holder_name: str = ""
    issuer: str = ""
    valid_from: str | None = None
    valid_to: str | None = None
    pdf_path: str | None = None


class Licences(_Body):
    licences: list[Licence]


class Benefit(_Body):
    code: str
    name: str
    department: str = ""
    amount_text: str = ""
    status: str = ""


class Benefits(_Body):
    benefits: list[Benefit]


class CaseReceipt(_Body):
    case_number: str
    status: str
    created_at: str = ""


class CaseStatus(_Body):
    case_number: str
    item_code: str
    status: str
    status_text: str = ""
    created_at: str = ""
    updated_at: str = ""


class EvaluationReceipt(_Body):
    evaluation_id: str
    level: str = ""


class CertificateIssued(_Body):
    """A certificate issued for printing; its PDF is ``GET /documents/{document_ref}/pdf``."""

    document_ref: str
    title: str
    pages: int = 1
    issued_at: str = ""


class InvoiceCheck(_Body):
    result: Literal["consistent", "inconsistent", "not_found"]
    result_text: str = ""


class QueueTicket(_Body):
    ticket: str
    waiting: int
    hall: str = ""


class HeartbeatAck(_Body):
    server_time: str


#: What a delivered outbox item's platform answer is kept as (non-personal fields only).
DeliveryResult = dict[str, Any]
