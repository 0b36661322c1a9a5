"""Typed, immutable form of a validated flow document (see ``flows/schema/flow.schema.json``).

Documents are YAML or JSON; :mod:`flows.loader` validates them (schema + structural checks)
and builds these objects. Nothing here holds personal data: definitions are shared by every
session of the kiosk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.expr import Compiled

StepType = Literal[
    "identify",
    "consent",
    "form",
    "materials",
    "commitment",
    "review",
    "submit",
    "pay_notice",
    "print",
    "evaluate",
    "finish",
]
STEP_TYPES: tuple[str, ...] = (
    "identify",
    "consent",
    "form",
    "materials",
    "commitment",
    "review",
    "submit",
    "pay_notice",
    "print",
    "evaluate",
    "finish",
)
IdentifyMethod = Literal["id_card", "lutong_code", "face"]
#: Device role each identification method needs.
METHOD_DEVICE: Mapping[str, str] = {"id_card": "idcard", "lutong_code": "scanner", "face": "camera"}
#: Device roles a flow may declare (keys of the device-state mapping given to the engine).
DEVICE_ROLES = ("idcard", "scanner", "camera", "receipt_printer", "a4_printer", "document_camera")


@dataclass(frozen=True, slots=True)
class Text:
    """Citizen-visible text in both languages the kiosk offers."""

    zh_CN: str  # noqa: N815 (the locale name, as in the documents)
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh_CN": self.zh_CN, "en": self.en}


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a catalogue item can be started now, and why not (flows.catalogue)."""

    item_code: str
    available: bool
    reasons: tuple[str, ...] = ()  # machine-readable: "device_down:idcard", "offline", …
    reason_text: Text | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "item_code": self.item_code,
            "available": self.available,
            "reasons": list(self.reasons),
            "reason_text": self.reason_text.as_dict() if self.reason_text else None,
        }


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True, slots=True)
class FieldDef:
    id: str
    kind: str  # text number money date year phone id_number choice multi_choice code
    label: Text
    sources: tuple[str, ...] = ()
    required: bool = True
    editable: bool | None = None  # None: editable only when no source gave a value
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    personal_data: bool = False
    masked: bool = False
    scan: bool = False
    hint: Text | None = None
    when: Compiled | None = None
    #: ``when`` reads only ``item``: it cannot change during a session (evaluated once)
    when_static: bool = False
    #: a remote assistant needs to see this field's value (remote help sends it unmasked);
    #: never on personal data (the loader refuses it there)
    assistant: bool = False


@dataclass(frozen=True, slots=True)
class Branch:
    goto: str
    condition: Compiled | None = None
    source: str | None = None  # the expression text, for diagrams


@dataclass(frozen=True, slots=True)
class IdleSpec:
    timeout_s: float
    warning_s: float


@dataclass(frozen=True, slots=True)
class StepDef:
    id: str
    type: str
    title: Text
    prompt: Text | None = None
    next: tuple[Branch, ...] = ()
    when: Compiled | None = None
    when_source: str | None = None
    idle: IdleSpec | None = None
    # type-specific parameters
    methods: tuple[str, ...] = ()
    max_attempts: int = 3
    face_after_card: bool = False
    text: Text | None = None
    scope: tuple[str, ...] = ()
    fetch: tuple[str, ...] = ()
    on_decline: str | None = None
    fields: tuple[FieldDef, ...] = ()
    edit: str | None = None
    request: str | None = None
    document: str | None = None
    printer: str | None = None
    optional: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def targets(self) -> tuple[str, ...]:
        """Every step id this step can lead to (for reachability and diagrams)."""
        out = [b.goto for b in self.next]
        for target in (self.on_decline, self.edit):
            if target:
                out.append(target)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class FlowDef:
    id: str
    version: int
    title: Text
    steps: tuple[StepDef, ...]
    devices: tuple[str, ...] = ()
    needs_online: bool = False
    idle: IdleSpec | None = None
    source: str = "<memory>"
    index: Mapping[str, int] = field(default_factory=dict)

    def step(self, step_id: str) -> StepDef:
        return self.steps[self.index[step_id]]
