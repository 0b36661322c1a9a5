"""Seed data: synthetic holders with e-licences and benefits, and the catalogue file.

Everything here is made up: names are invented, ID numbers are built with a valid GB 11643
check digit on Jinan region codes, phones use the 170 test-style prefix. Seeding is
idempotent (holders are keyed by ID number and inserted only when missing).

The catalogue file (``sandbox/seed/catalog.json``) holds ``{"items": [CatalogItem, ...]}``
(a bare list is accepted too); every item is validated against :class:`CatalogItem`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from sandbox import db, idnumber
from sandbox.models import CatalogItem
from sandbox.store import Store

DEFAULT_CATALOG = Path(__file__).with_name("seed") / "catalog.json"


@dataclass(frozen=True)
class SeedHolder:
    name: str
    region: str
    birth: date
    sequence: int
    phone: str
    address: str
    licence_types: tuple[str, ...]
    benefit_codes: tuple[str, ...]

    @property
    def id_number(self) -> str:
        return idnumber.make(self.region, self.birth, self.sequence)

    @property
    def holder_ref(self) -> str:
        return "h-" + hashlib.sha256(self.id_number.encode()).hexdigest()[:16]


HOLDERS: tuple[SeedHolder, ...] = (
    SeedHolder(
        "李明华",
        "370102",
        date(1985, 3, 12),
        371,
        "17000000001",
        "山东省济南市历下区泉城路1号",
        ("resident_id", "hukou", "marriage_certificate", "driving_licence"),
        ("BN-CHILD",),
    ),
    SeedHolder(
        "王晓燕",
        "370103",
        date(1990, 7, 25),
        282,
        "17000000002",
        "山东省济南市市中区经四路2号",
        ("resident_id", "hukou", "marriage_certificate", "birth_certificate"),
        ("BN-CHILD", "BN-HOUSING"),
    ),
    SeedHolder(
        "赵建国",
        "370104",
        date(1958, 11, 2),
        113,
        "17000000003",
        "山东省济南市槐荫区经十路3号",
        ("resident_id", "hukou", "social_security_card", "retirement_certificate"),
        ("BN-ELDER", "BN-PENSION"),
    ),
    SeedHolder(
        "孙丽娜",
        "370105",
        date(1978, 1, 30),
        464,
        "17000000004",
        "山东省济南市天桥区北园大街4号",
        ("resident_id", "disability_certificate"),
        ("BN-DISABILITY",),
    ),
    SeedHolder(
        "周子涵",
        "370112",
        date(2001, 9, 9),
        735,
        "17000000005",
        "山东省济南市历城区山大路5号",
        ("resident_id", "graduation_certificate"),
        (),
    ),
)

LICENCE_TYPES: dict[str, tuple[str, str]] = {
    "resident_id": ("居民身份证", "济南市公安局"),
    "hukou": ("居民户口簿", "济南市公安局"),
    "marriage_certificate": ("结婚证", "济南市民政局"),
    "birth_certificate": ("出生医学证明", "济南市卫生健康委员会"),
    "driving_licence": ("机动车驾驶证", "济南市公安局交通警察支队"),
    "social_security_card": ("社会保障卡", "济南市人力资源和社会保障局"),
    "retirement_certificate": ("退休证", "济南市人力资源和社会保障局"),
    "disability_certificate": ("残疾人证", "济南市残疾人联合会"),
    "graduation_certificate": ("毕业证书", "山东大学"),
}

BENEFITS: dict[str, tuple[str, str, str]] = {
    "BN-CHILD": ("育儿补贴", "卫健委", "每孩每年3600元"),
    "BN-HOUSING": ("公积金租房提取", "住房公积金中心", "每月最高1500元"),
    "BN-ELDER": ("高龄津贴", "民政局", "每月100元"),
    "BN-PENSION": ("城乡居民基础养老金", "人社局", "每月198元"),
    "BN-DISABILITY": ("困难残疾人生活补贴", "残联", "每月140元"),
}


def seed_holders(store: Store) -> int:
    """Insert the synthetic holders (and their licences and benefits) that are missing."""
    added = 0
    with store.engine.begin() as conn:
        for h in HOLDERS:
            exists = conn.execute(
                sa.select(db.holders.c.holder_ref).where(db.holders.c.id_number == h.id_number)
            ).first()
            if exists:
                continue
            added += 1
            conn.execute(
                sa.insert(db.holders).values(
                    holder_ref=h.holder_ref,
                    id_number=h.id_number,
                    name=h.name,
                    gender=idnumber.gender_of(h.id_number),
                    birth=h.birth.isoformat(),
                    phone=h.phone,
                    address=h.address,
                    face_score=None,
                )
            )
            for i, kind in enumerate(h.licence_types, start=1):
                type_name, issuer = LICENCE_TYPES[kind]
                number = (
                    h.id_number
                    if kind in ("resident_id", "driving_licence")
                    else (f"{kind[:2].upper()}{h.id_number[6:14]}{i:02d}")
                )
                conn.execute(
                    sa.insert(db.licences).values(
                        id=f"LIC-{h.holder_ref[2:10]}-{i:02d}",
                        holder_ref=h.holder_ref,
                        type=kind,
                        type_name=type_name,
                        number=number,
                        holder_name=h.name,
                        issuer=issuer,
                        valid_from="2020-01-01",
                        valid_to=None if kind != "resident_id" else "2040-01-01",
                    )
                )
            for code in h.benefit_codes:
                name, department, amount = BENEFITS[code]
                conn.execute(
                    sa.insert(db.benefits).values(
                        holder_ref=h.holder_ref,
                        code=code,
                        name=name,
                        department=department,
                        amount_text=amount,
                        status="matched",
                    )
                )
    return added


class CatalogFileError(ValueError):
    """The catalogue seed file is missing fields or malformed."""


def load_catalog_file(path: Path) -> list[dict[str, Any]]:
    """Read and validate a catalogue file; items come back as plain JSON objects."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogFileError(f"{path}: cannot read the catalogue: {exc}") from exc
    raw = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(raw, list):
        raise CatalogFileError(f"{path}: expected {{'items': [...]}} or a list of items")
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        try:
            item = CatalogItem.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CatalogFileError(f"{path}: item {i}: {where}: {first['msg']}") from None
        if item.code in seen:
            raise CatalogFileError(f"{path}: item {i}: duplicate code {item.code!r}")
        seen.add(item.code)
        items.append(item.model_dump(mode="json"))
    return items
