"""The shipped catalogue (issue §2) and availability by device and link state."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.catalogue import (
    Catalogue,
    CatalogueError,
    availability,
    flow_availability,
    parse_catalogue,
)
from flows.headless import all_devices
from flows.model import FlowDef

ROOT = Path(__file__).resolve().parents[2]

YJS_NAMES = [
    "企业信息变更",
    "开办运输企业",
    "开办餐饮店",
    "员工录用",
    "企业破产信息核查",
    "经营主体注销登记",
    "水电气网联合报装",
    "信用修复",
    "新生儿出生",
    "教育入学",
    "社会保障卡居民服务",
    "残疾人服务",
    "退休",
]


def test_thirteen_national_one_thing_bundles(catalogue: Catalogue) -> None:
    yjs = [it for it in catalogue.items if it.category == "yijianshi"]
    assert [it.name.removesuffix("“一件事”") for it in yjs] == YJS_NAMES
    for it in yjs:
        assert len(it.departments) >= 3, it.code  # a multi-department bundle
        assert it.lead_department in it.departments
        assert it.materials, it.code


def test_newborn_bundle_is_right(catalogue: Catalogue) -> None:
    it = catalogue.item("YJS-0009")
    assert it.flow == "yjs.newborn"
    assert set(it.departments) == {"卫健委", "公安局", "医保局", "人社局"}
    assert {m.licence_type for m in it.materials} >= {"birth_certificate", "hukou"}


def test_24_hour_self_service(catalogue: Catalogue) -> None:
    names = {it.name: it for it in catalogue.items}
    for name in (
        "社保参保证明打印",
        "住房公积金缴存证明打印",
        "不动产登记信息查询结果打印",
        "电子证照打印",
        "办件进度查询",
        "扫码取号",
    ):
        assert name in names
        assert "24小时" in names[name].keywords or names[name].category == "self_service_24h"
    assert names["办件进度查询"].flow == "query.case_status"
    assert names["扫码取号"].flow == "queue.ticket"


def test_tax_station_items_and_remote_help(catalogue: Catalogue) -> None:
    tax = {it.name: it for it in catalogue.items if it.category == "tax"}
    assert {
        "个人所得税纳税记录开具",
        "税收完税证明开具",
        "城乡居民基本养老保险费缴纳",
        "城乡居民基本医疗保险费缴纳",
        "代开增值税普通发票",
        "发票查验",
    } <= set(tax)
    assert tax["代开增值税普通发票"].remote_help and tax["个人所得税纳税记录开具"].remote_help
    assert not tax["发票查验"].remote_help
    assert all("泉税驿站" in it.keywords for it in tax.values())


def test_cross_region_items_name_both_offices(catalogue: Catalogue) -> None:
    xr = [it for it in catalogue.items if it.category == "cross_region"]
    assert len(xr) >= 3
    for it in xr:
        assert it.cross_region is not None
        assert it.cross_region.accepting_office != it.cross_region.handling_office


def test_every_item_has_a_shipped_flow(catalogue: Catalogue, flows: dict[str, FlowDef]) -> None:
    codes = [it.code for it in catalogue.items]
    assert len(codes) == len(set(codes))
    assert {it.flow for it in catalogue.items} == set(flows)  # and every flow is used


def test_sandbox_seed_is_the_same_catalogue_in_contract_format() -> None:
    shipped = json.loads((ROOT / "flows" / "catalogue.json").read_text("utf-8"))
    seed = json.loads((ROOT / "sandbox" / "seed" / "catalog.json").read_text("utf-8"))
    contract_material = {"code", "name", "licence_type", "required", "waivable"}

    def strip(item: dict[str, Any]) -> dict[str, Any]:
        return {
            **item,
            "materials": [{k: m[k] for k in contract_material} for m in item["materials"]],
        }

    assert seed["items"] == [strip(it) for it in shipped["items"]]
    for it in seed["items"]:
        assert all(set(m) == contract_material for m in it["materials"])


def test_availability_reasons(catalogue: Catalogue, flows: dict[str, FlowDef]) -> None:
    everything = all_devices()
    assert all(a.available for a in availability(catalogue.items, flows, everything, True))
    # the A4 printer down stops certificate printing, not the kiosk
    result = {
        a.item_code: a
        for a in availability(catalogue.items, flows, {**everything, "a4_printer": False}, True)
    }
    assert not result["ZZ-0001"].available and result["ZZ-0001"].reasons == (
        "device_down:a4_printer",
    )
    assert result["ZZ-0001"].reason_text is not None and "A4" in result["ZZ-0001"].reason_text.zh_CN
    assert result["YJS-0009"].available
    # offline: online-only items go, 一件事 keep working through the outbox
    offline = {a.item_code: a for a in availability(catalogue.items, flows, everything, False)}
    assert offline["ZZ-0005"].reasons == ("offline",)
    assert offline["YJS-0009"].available
    # one identification device is enough; none is not
    only_scanner = {**all_devices(False), "scanner": True}
    assert flow_availability(
        catalogue.item("YJS-0009"), flows["yjs.newborn"], only_scanner, True
    ).available
    none = flow_availability(
        catalogue.item("YJS-0009"), flows["yjs.newborn"], all_devices(False), True
    )
    assert none.reasons == ("no_identification:idcard,scanner,camera",)
    missing = flow_availability(catalogue.item("YJS-0009"), None, everything, True)
    assert missing.reasons == ("no_flow:yjs.newborn",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "catalogue is not valid JSON"),
        (
            '{"version": "1", "items": [{"code": "X"}]}',
            "catalogue item invalid at items/0/name: Field required",
        ),
        ('{"version": "1", "items": "no"}', "catalogue item invalid at items"),
    ],
)
def test_bad_catalogue(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_catalogue_parser_never_crashes(raw: bytes | str) -> None:
    with contextlib.suppress(CatalogueError):
        parse_catalogue(raw)


def test_the_first_screens_unvalidated_entries_match_the_validated_catalogue() -> None:
    from flows.catalogue import shipped_catalogue
    from flows.shipped import HomeEntry, shipped_home_entries

    assert shipped_home_entries() == tuple(
        HomeEntry(i.code, i.name, i.name_en, i.category, i.keywords)
        for i in shipped_catalogue().items
    )
