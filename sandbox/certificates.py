"""What the sandbox puts on the certificates a kiosk prints, and its invoice register.

Stand-ins for the province's business systems (social insurance, housing fund, real
estate registry, tax): the values are synthetic, derived deterministically from the
holder's ID number so a test can predict them, and every certificate says it is sample
data. The titles and row labels follow the documents' usual wording.
"""

from __future__ import annotations

import hashlib
from typing import Any

#: item code → certificate title (the kiosk's catalogue uses the same codes)
TITLES = {
    "ZZ-0001": "社会保险参保缴费证明",
    "ZZ-0002": "住房公积金缴存证明",
    "ZZ-0003": "不动产登记信息查询结果",
    "SW-0001": "个人所得税纳税记录",
    "SW-0002": "中华人民共和国税收完税证明",
}

#: A small synthetic invoice register: code → (date, amount).
INVOICES = {
    "037002100111": ("2026-01-15", "100.00"),
    "037002100222": ("2026-03-02", "2580.00"),
    "037002100333": ("2026-06-30", "45.50"),
}


def _number(id_number: str, salt: str, lo: int, hi: int) -> int:
    digest = hashlib.sha256(f"{salt}:{id_number}".encode()).digest()
    return lo + int.from_bytes(digest[:4], "big") % (hi - lo + 1)


def _years(params: dict[str, str]) -> tuple[int, int]:
    try:
        first = int(params.get("from_year") or 2020)
        last = int(params.get("to_year") or first)
    except ValueError as err:
        raise ValueError("from_year and to_year must be years") from err
    if not 1990 <= first <= last <= 2100:
        raise ValueError("the years must satisfy 1990 <= from_year <= to_year <= 2100")
    return first, last


def certificate_rows(
    item_code: str, holder: dict[str, Any], params: dict[str, str]
) -> list[tuple[str, str]]:
    """The label/value rows of the certificate; ``ValueError`` for bad parameters."""
    idn = str(holder["id_number"])
    masked = idn[:6] + "********" + idn[-4:]
    rows = [("姓名", str(holder["name"])), ("公民身份号码", masked)]
    if item_code == "ZZ-0001":
        first, last = _years(params)
        months = (last - first + 1) * 12
        rows += [
            ("参保险种", "企业职工基本养老保险、失业保险、工伤保险"),
            ("参保地", "济南市"),
            ("证明期间", f"{first}年1月至{last}年12月"),
            ("累计缴费月数", f"{months}个月"),
            ("缴费状态", "正常缴费"),
        ]
    elif item_code == "ZZ-0002":
        first, last = _years(params)
        base = _number(idn, "fund", 4000, 20000)
        rows += [
            ("缴存状态", "正常"),
            ("缴存基数", f"{base}元"),
            ("月缴存额", f"{base * 24 // 100}元"),
            ("证明期间", f"{first}年至{last}年"),
        ]
    elif item_code == "ZZ-0003":
        count = _number(idn, "estate", 0, 2)
        rows += [("查询结果", f"名下登记不动产{count}处" if count else "名下无登记不动产")]
    elif item_code in ("SW-0001", "SW-0002"):
        first, last = _years(params)
        tax = _number(idn, f"tax:{first}:{last}", 1000, 90000) / 100
        rows += [
            ("所属期间", f"{first}年1月至{last}年12月"),
            ("税种", params.get("tax_kind") or "个人所得税"),
            ("实缴（退）金额合计", f"{tax:.2f}元"),
            ("主管税务机关", "国家税务总局济南市税务局"),
        ]
    else:
        raise KeyError(item_code)
    if params.get("purpose"):
        rows.append(("证明用途", params["purpose"]))
    return rows


def check_invoice(code: str, date: str | None, amount: str | None) -> tuple[str, str]:
    """(result, result_text) of 发票查验 against the synthetic register."""
    known = INVOICES.get(code.strip())
    if known is None:
        return "not_found", "查无此票"
    want_date, want_amount = known
    if date and date != want_date:
        return "inconsistent", "开票日期与税务机关记录不一致"
    if amount:
        try:
            same = abs(float(amount) - float(want_amount)) < 0.005
        except ValueError:
            same = False
        if not same:
            return "inconsistent", "金额与税务机关记录不一致"
    return "consistent", "查验一致"
