"""The service catalogue (事项目录) and which of its items the kiosk can offer right now.

Wire format: ``GET /api/v1/catalog`` of ``docs/platform-api.md`` —
``{"version": ETAG, "items": [CatalogItem, …]}``. The shipped default is
``flows/catalogue.json`` (the platform's catalogue overrides it); the sandbox serves the same
file from ``sandbox/seed/catalog.json``. Items are parsed with pydantic (outside data: a bad
item gives :class:`CatalogueError` naming the item and the field, never a crash).

Availability is derived, never stored: :func:`availability` answers, for each item, whether it
can be started given the device roles that are usable and whether the platform link is up, and
if not, why (a required device down makes that item unavailable, not the kiosk).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.model import METHOD_DEVICE, Availability, FlowDef, Text

Category = Literal[
    "yijianshi", "self_service_24h", "tax", "certificate", "query", "cross_region", "benefit"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Material(_Model):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    name_en: str | None = None
    licence_type: str | None = None
    required: bool = True
    waivable: bool = False


class CrossRegion(_Model):
    accepting_office: str = Field(min_length=1)
    handling_office: str = Field(min_length=1)


class CatalogItem(_Model):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    category: Category
    departments: tuple[str, ...] = ()
    lead_department: str | None = None
    materials: tuple[Material, ...] = ()
    channels: tuple[str, ...] = ("kiosk",)
    flow: str = Field(min_length=1)
    needs_online: bool = False
    remote_help: bool = False
    keywords: tuple[str, ...] = ()
    cross_region: CrossRegion | None = None

    @property
    def title(self) -> Text:
        return Text(zh_CN=self.name, en=self.name_en)


class Catalogue(_Model):
    version: str
    items: tuple[CatalogItem, ...]

    def item(self, code: str) -> CatalogItem:
        for it in self.items:
            if it.code == code:
                return it
        raise KeyError(code)

    def items_for_flow(self, flow_id: str) -> tuple[CatalogItem, ...]:
        return tuple(it for it in self.items if it.flow == flow_id)


class CatalogueError(ValueError):
    """The catalogue document is malformed; the message names the item and the field."""


def parse_catalogue(text: str | bytes) -> Catalogue:
    """Parse a catalogue document (JSON text) as served by the platform."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CatalogueError(f"catalogue is not valid JSON: {exc}") from None
    try:
        return Catalogue.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "/".join(str(p) for p in first["loc"])
        raise CatalogueError(
            f"catalogue item invalid at {loc or '/'}: {first['msg']} "
            f"({exc.error_count()} problem(s))"
        ) from None


@functools.cache
def shipped_catalogue() -> Catalogue:
    text = resources.files("flows").joinpath("catalogue.json").read_text("utf-8")
    return parse_catalogue(text)


_DEVICE_NAMES = {
    "idcard": Text("身份证阅读器", "ID card reader"),
    "scanner": Text("扫码器", "code scanner"),
    "camera": Text("摄像头", "camera"),
    "receipt_printer": Text("凭条打印机", "receipt printer"),
    "a4_printer": Text("A4 打印机", "A4 printer"),
    "document_camera": Text("高拍仪", "document camera"),
}


def identify_devices(flow: FlowDef) -> tuple[str, ...]:
    """Device roles of the identification methods of the flow's identify steps (any one do)."""
    roles: list[str] = []
    for step in flow.steps:
        if step.type == "identify":
            roles.extend(METHOD_DEVICE[m] for m in step.methods)
    return tuple(dict.fromkeys(roles))


def flow_availability(
    item: CatalogItem, flow: FlowDef | None, devices: Mapping[str, bool], online: bool
) -> Availability:
    """Whether ``item`` (run by ``flow``) can be started now, and why not."""
    if flow is None:
        return Availability(
            item.code,
            False,
            (f"no_flow:{item.flow}",),
            Text("暂不支持自助办理", "Not available here"),
        )
    reasons: list[str] = []
    texts_zh: list[str] = []
    texts_en: list[str] = []
    if (item.needs_online or flow.needs_online) and not online:
        reasons.append("offline")
        texts_zh.append("平台网络中断")
        texts_en.append("the platform link is down")
    for role in flow.devices:
        if not devices.get(role, False):
            reasons.append(f"device_down:{role}")
            texts_zh.append(f"{_DEVICE_NAMES[role].zh_CN}不可用")
            texts_en.append(f"the {_DEVICE_NAMES[role].en} is out of service")
    id_roles = identify_devices(flow)
    if id_roles and not any(devices.get(r, False) for r in id_roles):
        reasons.append("no_identification:" + ",".join(id_roles))
        texts_zh.append("身份核验设备均不可用")
        texts_en.append("no identification device is in service")
    if reasons:
        return Availability(
            item.code,
            False,
            tuple(reasons),
            Text("暂停服务：" + "；".join(texts_zh), "Unavailable: " + "; ".join(texts_en)),
        )
    return Availability(item.code, True)


def availability(
    items: Sequence[CatalogItem],
    flows: Mapping[str, FlowDef],
    devices: Mapping[str, bool],
    online: bool,
) -> list[Availability]:
    """One :class:`Availability` per item, in catalogue order."""
    return [flow_availability(it, flows.get(it.flow), devices, online) for it in items]
