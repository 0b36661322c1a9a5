"""The screen view-model: everything the Qt app needs to draw one step, and nothing else.

A :class:`StepView` arrives in every :class:`flows.events.Show` effect. It is immutable and
complete: the app draws it as it is, sends the citizen's actions back as
``Press(action, value)`` / ``Input(field, value)`` events, and keeps no flow logic of its own.

* ``step_type`` — one of the flow step types (identify … finish); ``phase`` — the sub-state
  within the step (e.g. identify: ``choose`` / ``waiting_card`` / ``waiting_code`` /
  ``verifying`` / ``enter_id`` / ``waiting_face``; submit: ``sending`` / ``failed`` / ``done``).
* ``title``, ``prompt``, ``text`` (consent/commitment text), ``error`` — :class:`Text` in
  zh_CN and en; the app picks the language.
* ``fields`` — :class:`FieldView`: ``kind`` (text, number, money, date, year, phone,
  id_number, choice, multi_choice, code), ``label``, ``display`` (what to draw, masked when
  ``masked``), ``value`` (raw value, only for editable fields), ``editable``, ``required``,
  ``source`` (``identity`` / ``licence`` / ``item`` / ``results`` when derived — "减表单" —,
  ``input`` when typed), ``personal_data`` (technician output masks it), ``error``.
* ``choices`` — :class:`ChoiceView` buttons of a choice (identification methods, 好差评
  levels, reasons) with ``selected`` / ``enabled`` and a ``reason`` when disabled.
* ``buttons`` — :class:`ButtonView` (``action`` to send back in ``Press``); help and cancel
  are always present except on the finish screen (no cancel there).
* ``materials`` — :class:`MaterialView` with status ``licence`` (免提交), ``captured``,
  ``waived`` (容缺), ``missing``.
* ``summary`` — :class:`SummaryRow` rows of the review/finish screens.
* ``progress`` — step ``index`` of ``total`` (steps whose ``when`` currently holds).
* ``countdown`` — idle state: ``running``, ``warning`` (show "还需要更多时间吗？" with
  ``remaining_s``) or ``paused`` (waiting for the system or an assistant).
* ``busy`` — the engine waits for a device/platform answer (draw a spinner, no input).
* ``assistant`` — ``None`` / ``calling`` / ``connected`` / ``unavailable``.
* ``payment`` — 一码缴费 QR content and amount (display only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.model import Text


@dataclass(frozen=True, slots=True)
class ChoiceView:
    action: str  # send back as Press(action, value)
    value: str
    label: Text
    selected: bool = False
    enabled: bool = True
    reason: Text | None = None


@dataclass(frozen=True, slots=True)
class FieldView:
    id: str
    kind: str
    label: Text
    display: str | None
    value: str | None
    editable: bool
    required: bool
    masked: bool
    personal_data: bool
    source: str | None
    error: Text | None = None
    hint: Text | None = None
    choices: tuple[ChoiceView, ...] = ()
    scan: bool = False


@dataclass(frozen=True, slots=True)
class ButtonView:
    action: str
    label: Text
    value: str | None = None
    primary: bool = False
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class MaterialView:
    code: str
    name: Text
    required: bool
    status: str  # licence | captured | waived | missing
    waivable: bool
    can_capture: bool  # also True for a captured page: it can be retaken (重拍)
    licence_number: str | None = None
    #: The kiosk's handle of a captured page (its preview is drawn from the kiosk's memory).
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    label: Text
    value: str
    personal_data: bool = False
    #: The value in both languages when it is a label (a choice, a material's status, a
    #: document's name) rather than data; ``value`` then holds the raw code.
    value_text: Text | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    index: int
    total: int


@dataclass(frozen=True, slots=True)
class Countdown:
    state: str  # running | warning | paused
    timeout_s: float
    warning_s: float
    remaining_s: float | None = None


@dataclass(frozen=True, slots=True)
class PaymentView:
    qr: str
    amount_text: str
    deadline_text: str


@dataclass(frozen=True, slots=True)
class StepView:
    flow_id: str
    item_code: str
    item_name: Text
    step_id: str
    step_type: str
    phase: str
    title: Text
    prompt: Text | None
    progress: Progress
    countdown: Countdown
    buttons: tuple[ButtonView, ...]
    fields: tuple[FieldView, ...] = ()
    choices: tuple[ChoiceView, ...] = ()
    materials: tuple[MaterialView, ...] = ()
    summary: tuple[SummaryRow, ...] = ()
    text: Text | None = None
    error: Text | None = None
    busy: bool = False
    assistant: str | None = None
    payment: PaymentView | None = None
    remote_help: bool = False
    result: Any = None  # JSON-like data of a platform answer shown as it is

    def button(self, action: str) -> ButtonView | None:
        for b in self.buttons:
            if b.action == action:
                return b
        return None
