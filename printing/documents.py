"""The documents a kiosk prints, each laid out once as a :class:`~printing.document.Document`.

* 受理回执 (:func:`acceptance_receipt`): case number, item, time, kiosk, a QR code that
  opens the case lookup page;
* 办结通知 (:func:`completion_notice`);
* certificates (:func:`certificate`): an e-licence or a tax record rendered for printing;
* 排队小票 (:func:`queue_ticket`);
* 承诺书 (:func:`commitment_letter`) for 告知承诺制 and 容缺受理;
* the technician test page (:func:`test_page`).

Personal data: receipts and notices show the applicant's name masked (张*丰) — they are
left lying in service halls; certificates and commitment letters show what the document
legally needs (full name, ID number). Nothing here logs anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from printing.document import (
    Align,
    Barcode,
    Block,
    Document,
    Field,
    Heading,
    Paragraph,
    QrCode,
    Rule,
    Signature,
    Spacer,
    Text,
)

DEFAULT_ISSUER = "济南市政务服务中心"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def mask_name(name: str) -> str:
    """张三 → 张*, 张三丰 → 张*丰 (the usual masking on slips left in public)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str) -> str:
    """Keep the first 4 and last 4 characters of a resident ID number."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def case_lookup_url(base_url: str, case_number: str) -> str:
    """The QR payload of a receipt: the public case lookup page for this case."""
    return f"{base_url.rstrip('/')}/cases/{quote(case_number, safe='')}"


def acceptance_receipt(
    *,
    case_number: str,
    item_name: str,
    accepted_at: datetime,
    kiosk_id: str,
    lookup_base_url: str,
    applicant_name: str = "",
    promised_days: int | None = None,
    issuer: str = DEFAULT_ISSUER,
) -> Document:
    blocks: list[Block] = [
        Heading("受理回执"),
        Rule(),
        Field("受理编号", case_number, emphasis=True),
        Field("办理事项", item_name),
    ]
    if applicant_name:
        blocks.append(Field("申请人", mask_name(applicant_name)))
    blocks += [
        Field("受理时间", accepted_at.strftime(TIME_FORMAT)),
        Field("受理终端", kiosk_id),
    ]
    if promised_days is not None:
        blocks.append(Field("承诺时限", f"{promised_days}个工作日"))
    blocks += [
        Rule(),
        QrCode(case_lookup_url(lookup_base_url, case_number), caption="扫码查询办理进度"),
        Paragraph("请妥善保管本回执，凭受理编号查询办理进度或领取结果。"),
    ]
    return Document("acceptance_receipt", "受理回执", tuple(blocks), footer=issuer)


def completion_notice(
    *,
    case_number: str,
    item_name: str,
    completed_at: datetime,
    result: str,
    pickup: str,
    kiosk_id: str,
    applicant_name: str = "",
    issuer: str = DEFAULT_ISSUER,
) -> Document:
    blocks: list[Block] = [Heading("办结通知"), Rule(), Field("受理编号", case_number)]
    if applicant_name:
        blocks.append(Field("申请人", mask_name(applicant_name)))
    blocks += [
        Field("办理事项", item_name),
        Field("办结时间", completed_at.strftime(TIME_FORMAT)),
        Field("办理结果", result, emphasis=True),
        Field("领取方式", pickup),
        Field("打印终端", kiosk_id),
        Rule(),
        Paragraph("您申请的事项已办结。如对办理结果有异议，可在收到本通知之日起六十日内申请复议。"),
    ]
    return Document("completion_notice", "办结通知", tuple(blocks), footer=issuer)


@dataclass(frozen=True)
class CertificateData:
    """An e-licence (电子证照) or a tax record as fetched from the platform."""

    title: str  # e.g. 营业执照, 完税证明
    holder_name: str
    id_number: str
    fields: Sequence[tuple[str, str]]
    licence_number: str
    issuer: str
    issued_at: datetime
    verify_url: str


def certificate(data: CertificateData, *, printed_at: datetime, kiosk_id: str) -> Document:
    blocks: list[Block] = [
        Heading(data.title),
        Text(f"证照编号：{data.licence_number}", align=Align.CENTER),
        Rule(),
        Field("持证人", data.holder_name),
        Field("证件号码", data.id_number),
        *(Field(label, value) for label, value in data.fields),
        Field("发证机关", data.issuer),
        Field("发证日期", data.issued_at.strftime("%Y-%m-%d")),
        Rule(),
        QrCode(data.verify_url, caption="扫码核验证照真伪"),
        Text(
            f"本件由自助终端{kiosk_id}于{printed_at.strftime(TIME_FORMAT)}打印，与电子证照具有同等效力。",
            align=Align.LEFT,
        ),
    ]
    return Document("certificate", data.title, tuple(blocks), footer=data.issuer)


def queue_ticket(
    *,
    ticket_number: str,
    service: str,
    waiting_ahead: int,
    issued_at: datetime,
    hall: str = DEFAULT_ISSUER,
    window_hint: str = "",
) -> Document:
    blocks: list[Block] = [
        Heading(hall, level=2),
        Text("排队号", align=Align.CENTER),
        Text(ticket_number, align=Align.CENTER, bold=True, large=True),
        Field("办理业务", service),
        Field("前面等候", f"{waiting_ahead}人"),
        Field("取号时间", issued_at.strftime(TIME_FORMAT)),
    ]
    if window_hint:
        blocks.append(Field("办理窗口", window_hint))
    blocks += [Rule(), Paragraph("请留意叫号屏幕及语音提示，过号请重新取号。", indent=False)]
    return Document("queue_ticket", "排队小票", tuple(blocks), footer=hall)


COMMITMENT_KINDS = {
    "notify_commit": "告知承诺书",
    "accept_missing": "容缺受理承诺书",
}


def commitment_letter(
    *,
    kind: str,
    applicant_name: str,
    id_number: str,
    item_name: str,
    signed_at: datetime,
    missing_materials: Sequence[str] = (),
    deadline_days: int = 0,
    case_number: str = "",
    issuer: str = DEFAULT_ISSUER,
) -> Document:
    """承诺书: ``kind`` is ``notify_commit`` (告知承诺) or ``accept_missing`` (容缺受理)."""
    if kind not in COMMITMENT_KINDS:
        raise ValueError(f"unknown commitment kind {kind!r} (known: {', '.join(COMMITMENT_KINDS)})")
    title = COMMITMENT_KINDS[kind]
    if kind == "accept_missing" and not missing_materials:
        raise ValueError("容缺受理 needs the list of missing materials")
    blocks: list[Block] = [
        Heading(title),
        Field("承诺人", applicant_name),
        Field("身份证号", id_number),
        Field("申请事项", item_name),
    ]
    if case_number:
        blocks.append(Field("受理编号", case_number))
    blocks.append(Rule())
    if kind == "notify_commit":
        blocks += [
            Paragraph(
                f"本人已知晓办理“{item_name}”所需的全部条件和要求，"
                "现承诺符合上述条件，所提交的材料真实、合法、有效。"
            ),
            Paragraph("如有虚假承诺，本人愿意承担相应的法律责任，并同意相关信息纳入信用记录。"),
        ]
    else:
        blocks.append(Paragraph("本人申请容缺受理，以下材料暂缺，承诺在规定期限内补齐："))
        blocks += [Text(f"{i}. {m}") for i, m in enumerate(missing_materials, 1)]
        blocks.append(
            Paragraph(
                f"本人承诺自受理之日起{deadline_days}个工作日内补交上述材料；"
                "逾期未补齐的，同意终止办理，由此产生的后果由本人承担。"
            )
        )
    blocks += [
        Spacer(),
        Signature("承诺人（签字）"),
        Text(f"承诺时间：{signed_at.strftime(TIME_FORMAT)}", align=Align.RIGHT),
    ]
    return Document(f"commitment_{kind}", title, tuple(blocks), footer=issuer)


def test_page(*, kiosk_id: str, printed_at: datetime, width_mm: int | None = None) -> Document:
    """Everything a technician wants to see once: sizes, alignment, Chinese, QR, barcode."""
    paper = f"{width_mm} mm" if width_mm else "A4"
    blocks: list[Block] = [
        Heading("打印机测试页"),
        Text("QUANBAN KIOSK PRINTER TEST", align=Align.CENTER, bold=True),
        Rule(),
        Field("终端", kiosk_id),
        Field("时间", printed_at.strftime("%Y-%m-%d %H:%M:%S")),
        Field("纸张", paper),
        Text("左对齐 left", align=Align.LEFT),
        Text("居中 center", align=Align.CENTER),
        Text("右对齐 right", align=Align.RIGHT),
        Text("粗体 bold", bold=True),
        Text("倍大 large", large=True),
        Paragraph("中文测试：泉城济南，高效办成一件事。常用字之外：喆 堃 燚。"),
        Text("ASCII 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        Rule(),
        QrCode(f"quanban-test:{kiosk_id}", caption="二维码 QR"),
        Barcode("QB1234567890"),
    ]
    return Document("test_page", "打印机测试页", tuple(blocks), footer="全办自助终端")
