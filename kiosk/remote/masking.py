"""What of the citizen's screen may leave the kiosk: the masked step snapshot, by allow-list.

A :class:`flows.views.StepView` holds personal data (names, ID numbers, phone numbers,
licence numbers, platform answers). :func:`snapshot` turns it into the JSON object sent to
the assistant in ``snapshot`` / ``patch`` envelopes, and it copies *only* what is known to be
safe:

* static texts of the flow definition and the engine (title, prompt, error), step ids,
  phase, progress, busy flag, buttons (action, label, enabled, and ``remote``: whether the
  assistant may press it), materials (code, name, status; no licence number), the number of
  choices;
* each field's id, kind, label, hint, required/editable flags and ``filled`` (has a value);
  its ``display`` and ``value`` only when the :class:`AllowList` names it (the flow
  definition says the assistant needs it). A field the flow itself masks on screen
  (``FieldView.masked``) goes out as its on-screen masked ``display``, never its value.
* summary rows' labels; their values are always replaced by :data:`MASK`.

Everything else — field choices of non-allowed fields (licence lists), the ``result`` of a
platform query, the payment QR, summary values — never leaves. A masked field is
write-only for the assistant: it may fill it (with consent) but never reads it back.

The allow-list is data: ``(flow_id, step_id, field_id)`` triples. :meth:`AllowList.from_flows`
takes exactly the fields whose flow definition says ``assistant: true`` (flow schema; the
loader refuses the flag on personal data: personal_data, id_number/phone kinds, fields masked
on screen, licence choices, values from identity/licence). A field without it goes out
masked. Default-deny is the point (deny-lists in co-browse recorders leak: rrweb #1609,
#1385).

:func:`diff` / :func:`apply_patch` give the ``patch`` body: ``{"set": {key: value},
"fields": {field_id: entry | null}}`` relative to the previous snapshot. Pure functions.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.model import FlowDef, Text
from flows.views import FieldView, StepView

MASK = "******"
#: Buttons the assistant may press on the citizen's behalf (with the ``navigate`` scope).
#: Consent, commitment, confirm/submit, payment and cancel stay with the citizen (代填不代签).
NAV_ACTIONS = frozenset({"next", "back", "edit", "retry"})
CITIZEN_ONLY_STEPS = frozenset(
    {"identify", "consent", "commitment", "review", "submit", "pay_notice", "evaluate", "finish"}
)

Snapshot = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AllowList:
    """Fields that may leave unmasked: ``(flow_id, step_id, field_id)``."""

    entries: frozenset[tuple[str, str, str]] = frozenset()

    def allows(self, flow_id: str, step_id: str, field_id: str) -> bool:
        return (flow_id, step_id, field_id) in self.entries

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str, str]]) -> AllowList:
        return cls(frozenset(entries))

    @classmethod
    def from_flows(cls, flows: Mapping[str, FlowDef]) -> AllowList:
        """Exactly the fields whose definition says ``assistant: true`` (default deny)."""
        return cls(
            frozenset(
                (flow.id, step.id, f.id)
                for flow in flows.values()
                for step in flow.steps
                for f in step.fields
                if f.assistant
            )
        )


def _text(t: Text | None) -> dict[str, str] | None:
    return None if t is None else t.as_dict()


def may_press(view: StepView, action: str) -> bool:
    """Whether the assistant may press ``action`` on this view (given the scope)."""
    if action not in NAV_ACTIONS or view.step_type in CITIZEN_ONLY_STEPS or view.busy:
        return False
    b = view.button(action)
    return b is not None and b.enabled


def _field(view: StepView, f: FieldView, allow: AllowList) -> dict[str, Any]:
    allowed = allow.allows(view.flow_id, view.step_id, f.id)
    entry: dict[str, Any] = {
        "id": f.id,
        "kind": f.kind,
        "label": f.label.as_dict(),
        "hint": _text(f.hint),
        "required": f.required,
        "editable": f.editable,
        "filled": bool(f.value or f.display),
        "masked": not allowed or f.masked,
        "display": None,
        "value": None,
        "choices": [],
    }
    if allowed:
        # The flow masks some fields on screen too: send what the screen shows, never more.
        entry["display"] = f.display
        entry["value"] = None if f.masked else f.value
        if not f.masked:
            entry["choices"] = [
                {"value": c.value, "label": c.label.as_dict(), "selected": c.selected}
                for c in f.choices
            ]
    return entry


def snapshot(view: StepView, allow: AllowList) -> Snapshot:
    """The masked, JSON-ready copy of ``view`` (see the module docstring)."""
    return {
        "flow_id": view.flow_id,
        "item_code": view.item_code,
        "item_name": view.item_name.as_dict(),
        "step_id": view.step_id,
        "step_type": view.step_type,
        "phase": view.phase,
        "title": view.title.as_dict(),
        "prompt": _text(view.prompt),
        "error": _text(view.error),
        "progress": [view.progress.index, view.progress.total],
        "busy": view.busy,
        "buttons": [
            {
                "action": b.action,
                "label": b.label.as_dict(),
                "enabled": b.enabled,
                "remote": may_press(view, b.action),
            }
            for b in view.buttons
        ],
        "fields": {f.id: _field(view, f, allow) for f in view.fields},
        "field_order": [f.id for f in view.fields],
        "choices": len(view.choices),
        "materials": [
            {"code": m.code, "name": m.name.as_dict(), "status": m.status, "required": m.required}
            for m in view.materials
        ],
        "summary": [{"label": r.label.as_dict(), "value": MASK} for r in view.summary],
    }


def diff(old: Snapshot, new: Snapshot) -> dict[str, Any]:
    """Patch body turning ``old`` into ``new`` (top-level keys, fields one by one)."""
    sets = {k: v for k, v in new.items() if k != "fields" and old.get(k) != v}
    sets.update({k: None for k in old if k not in new})
    old_f: dict[str, Any] = old.get("fields", {})
    new_f: dict[str, Any] = new.get("fields", {})
    fields: dict[str, Any] = {k: v for k, v in new_f.items() if old_f.get(k) != v}
    fields.update({k: None for k in old_f if k not in new_f})
    return {"set": sets, "fields": fields}


def apply_patch(old: Snapshot, patch: Mapping[str, Any]) -> Snapshot:
    """The assistant side's inverse of :func:`diff`."""
    out = copy.deepcopy(old)
    for k, v in patch.get("set", {}).items():
        if v is None and k not in ("prompt", "error"):
            out.pop(k, None)
        else:
            out[k] = v
    fields: dict[str, Any] = out.setdefault("fields", {})
    for k, v in patch.get("fields", {}).items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = v
    return out
