"""From a flow's ``PrintDocument(document, content)`` to a laid-out printing Document.

The flow engine says *what* to print (``receipt``, ``ticket``, ``certificate``, ``licence``,
``case_status``) with the data it holds; ``printing.documents`` knows *how* each looks. This
module is the small glue between the two vocabularies. Content may hold personal data; it
is passed through, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from printing.document import Document, Field, Heading, Paragraph, Rule
from printing.documents import (
    CertificateData,
    acceptance_receipt,
    certificate,
    queue_ticket,
)


def _s(content: Mapping[str, Any], key: str, default: str = "") -> str:
    value = content.get(key)
    return default if value is None else str(value)


def build_document(
    kind: str,
    content: Mapping[str, Any],
    *,
    kiosk_id: str,
    lookup_base_url: str,
    now: datetime,
) -> Document:
    """Lay out document ``kind``; raise ``ValueError`` for an unknown kind or missing data."""
    if kind == "receipt":
        number = _s(content, "case_number") or _s(content, "receipt_ref")
        if not number:
            raise ValueError("a receipt needs a case number or a queued reference")
        doc = acceptance_receipt(
            case_number=number,
            item_name=_s(content, "item_name"),
            accepted_at=now,
            kiosk_id=kiosk_id,
            lookup_base_url=lookup_base_url,
        )
        if content.get("queued"):
            # Offline: the case is in the outbox; the number above is the kiosk's own ref.
            doc = replace(
                doc, blocks=(*doc.blocks, Paragraph("网络恢复后自动提交，受理编号将以短信通知。"))
            )
        return doc
    if kind == "ticket":
        return queue_ticket(
            ticket_number=_s(content, "ticket"),
            service=_s(content, "item_name"),
            waiting_ahead=int(content.get("waiting") or 0),
            issued_at=now,
            hall=_s(content, "hall") or "济南市政务服务中心",
        )
    if kind in ("certificate", "licence"):
        fields = content.get("fields") or []
        data = CertificateData(
            title=_s(content, "title") or _s(content, "item_name"),
            holder_name=_s(content, "holder_name"),
            id_number=_s(content, "id_number"),
            fields=[(str(a), str(b)) for a, b in fields],
            licence_number=_s(content, "number") or _s(content, "licence_id"),
            issuer=_s(content, "issuer") or "济南市政务服务中心",
            issued_at=now,
            verify_url=_s(content, "verify_url") or lookup_base_url,
        )
        return certificate(data, printed_at=now, kiosk_id=kiosk_id)
    if kind == "case_status":
        return Document(
            kind="case_status",
            title="办件进度",
            blocks=(
                Heading("办件进度"),
                Rule(),
                Field("受理编号", _s(content, "case_number")),
                Field("办理事项", _s(content, "item_name")),
                Field("当前状态", _s(content, "status_text") or _s(content, "status")),
                Field("更新时间", _s(content, "updated_at")),
            ),
        )
    raise ValueError(f"unknown document kind {kind!r}")
