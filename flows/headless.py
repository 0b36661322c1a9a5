"""Headless running of flows: scripted event files, the autopilot, traces and diagrams.

Used by ``kiosk flows run/graph``, the tests and ``bench/flows.py``; no I/O here.

* :func:`run_events` feeds a list of events to a fresh engine session and returns the
  :class:`Trace` — one :class:`TraceEntry` per event: the event and the effects it produced.
* :class:`Autopilot` plays both the citizen and the kiosk with synthetic data (GB 11643-valid
  ID numbers, made-up names), steered by a :class:`Policy` (identification method, effects
  that fail and how, offline submission, where to time out, cancel or ask for help). Tests
  use it to walk every branch of every shipped flow.
* :func:`compact_effect` / :func:`compact_event` give one-line summaries (the snapshot
  format); :func:`redact` masks personal data in full JSON dumps for technician output.
* :func:`mermaid` draws a flow as a Mermaid ``flowchart``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flows import events as ev
from flows.catalogue import CatalogItem
from flows.engine import FlowEngine
from flows.idnumber import check_character
from flows.model import FlowDef
from flows.views import FieldView, StepView

MASK = "***"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    event: ev.Event | None  # None for the session start
    effects: tuple[ev.Effect, ...]
    ignored: bool = False  # the engine ignored the event (stale, or not valid here)

    def compact(self) -> dict[str, Any]:
        label = "start" if self.event is None else compact_event(self.event)
        return {
            "event": label + (" (ignored)" if self.ignored else ""),
            "effects": [compact_effect(e) for e in self.effects],
        }

    def as_dict(self, reveal: bool = False) -> dict[str, Any]:
        event = None if self.event is None else event_dict(self.event)
        out = {
            "event": event,
            "ignored": self.ignored,
            "effects": [e.as_dict() for e in self.effects],
        }
        return out if reveal else redact(out)


@dataclass(slots=True)
class Trace:
    flow_id: str
    item_code: str
    entries: list[TraceEntry] = field(default_factory=list)
    end_reason: str | None = None

    def add(
        self, event: ev.Event | None, effects: Sequence[ev.Effect], ignored: bool = False
    ) -> None:
        self.entries.append(TraceEntry(event, tuple(effects), ignored))
        for e in effects:
            if isinstance(e, ev.EndSession):
                self.end_reason = e.reason

    def screens(self) -> list[str]:
        return [
            f"{e.view.step_id}:{e.view.phase}"
            for entry in self.entries
            for e in entry.effects
            if isinstance(e, ev.Show)
        ]

    def compact(self) -> dict[str, Any]:
        return {
            "flow": self.flow_id,
            "item": self.item_code,
            "end": self.end_reason,
            "trace": [e.compact() for e in self.entries],
        }


def event_dict(event: ev.Event) -> dict[str, Any]:
    body = ev._plain(event)
    return {"type": event.kind, **body}


def compact_event(event: ev.Event) -> str:
    if isinstance(event, ev.Press):
        return f"press {event.action}" + (f"={event.value}" if event.value is not None else "")
    if isinstance(event, ev.Input):
        return f"input {event.field}"
    if isinstance(event, ev.Tick):
        return f"tick {event.now:g}"
    if isinstance(event, ev.TimerFired):
        return f"timer_fired {event.name}"
    if isinstance(event, ev.EffectFailed):
        return f"effect_failed {event.effect}:{event.reason}"
    if isinstance(event, ev.CodeVerified):
        return f"code_verified {event.result}"
    if isinstance(event, ev.FaceCaptured):
        return f"face_captured live={event.live} matched={event.matched}"
    if isinstance(event, ev.CaseSubmitted):
        return "case_submitted " + ("queued" if event.queued else "numbered")
    if isinstance(event, ev.QueryAnswered):
        return "query_answered"
    return event.kind


def compact_effect(effect: ev.Effect) -> str:
    if isinstance(effect, ev.Show):
        view: StepView = effect.view
        line = f"show {view.step_id}:{view.phase}"
        if view.error is not None:
            line += f" !{view.error.en}"
        if view.countdown.state == "warning":
            line += " (idle warning)"
        return line
    if isinstance(effect, ev.Speak):
        return "speak"
    detail: Callable[[Any], str] | None = {
        ev.ScanCode: lambda e: e.purpose,
        ev.CaptureFace: lambda e: e.against,
        ev.QueryPlatform: lambda e: e.kind,
        ev.PrintDocument: lambda e: f"{e.document}@{e.printer}",
        ev.StartTimer: lambda e: f"{e.timer} {e.after_s:g}s",
        ev.EndSession: lambda e: e.reason,
        ev.CallAssistant: lambda e: e.mode,
        ev.SubmitEvaluation: lambda e: str(e.satisfaction),
        ev.CaptureDocument: lambda e: e.material_code,
        ev.SubmitCase: lambda e: e.item_code,
    }.get(type(effect))
    return effect.name + (f" {detail(effect)}" if detail else "")


_PERSONAL_KEYS = frozenset(
    {
        "name",
        "id_number",
        "gender",
        "birth",
        "address",
        "phone",
        "text",
        "code",
        "holder_ref",
        "holder",
        "holder_name",
        "number",
        "applicant",
        "form",
        "params",
        "content_ref",
        "ref",
        "benefits",
    }
)


def _redact_view(view: dict[str, Any]) -> dict[str, Any]:
    out = dict(view)
    out["fields"] = [
        {**f, "display": MASK, "value": MASK} if f.get("personal_data") and f.get("display") else f
        for f in view.get("fields", [])
    ]
    out["summary"] = [
        {**r, "value": MASK} if r.get("personal_data") else r for r in view.get("summary", [])
    ]
    if out.get("result"):
        out["result"] = MASK
    return out


def redact(obj: Any, _key: str = "") -> Any:
    """Mask personal data in a JSON-like trace (technician output without ``--reveal``)."""
    if isinstance(obj, Mapping):
        if obj.get("effect") == "show" and isinstance(obj.get("view"), Mapping):
            return {**obj, "view": _redact_view(dict(obj["view"]))}
        if obj.get("effect") == "speak":
            return obj
        if obj.get("type") == "input":
            return {**obj, "value": MASK}
        return {
            k: (MASK if k in _PERSONAL_KEYS and v not in (None, "", [], {}) else redact(v, k))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [redact(v, _key) for v in obj]
    return obj


def run_events(
    engine: FlowEngine,
    flow_id: str,
    item: CatalogItem,
    events: Iterable[ev.Event],
    *,
    devices: Mapping[str, bool],
    online: bool,
) -> Trace:
    """Start a session and feed ``events``; stop early when the session ends."""
    trace = Trace(flow_id, item.code)
    trace.add(None, engine.start(flow_id, item, devices=devices, online=online))
    for event in events:
        if not engine.active:
            break
        before = engine.events_ignored
        effects = engine.feed(event)
        trace.add(event, effects, ignored=engine.events_ignored > before)
    return trace


# --------------------------------------------------------------------------- autopilot


def synthetic_id_number(region: str = "370102", birth: str = "19850312", seq: str = "371") -> str:
    first17 = region + birth + seq
    return first17 + check_character(first17)


#: A made-up citizen (never a real person); tests search for these strings after a wipe.
SYNTHETIC_PERSON = {
    "name": "测试甲乙丙",
    "id_number": synthetic_id_number(),
    "gender": "男",
    "birth": "1985-03-12",
    "address": "山东省济南市历下区测试路99号",
    "phone": "17000009999",
}

#: Effects the autopilot fails with "offline" when it plays a kiosk without a platform link
#: (``submit_case`` then goes to the outbox: a queued receipt, no case number).
_NEEDS_LINK = frozenset(
    {"verify_code", "fetch_user_info", "fetch_licences", "fetch_benefits", "query_platform"}
)

_FIELD_SAMPLES = {
    "uscc": "91370102MA3ABCDE1X",
    "buyer_tax_id": "91370102MA3ABCDE1X",
    "pension_bank_account": "6222020200112233445",
    "fund_account": "12345678",
    "invoice_code": "037002100111",
    "case_number": "JN2026112800001",
    "employee_id": synthetic_id_number("370103", "19990101", "123"),
    "child_id": synthetic_id_number("370102", "20190901", "456"),
}


def sample_value(f: FieldView) -> str:
    """A valid synthetic answer for a form field."""
    if f.id in _FIELD_SAMPLES:
        return _FIELD_SAMPLES[f.id]
    kind = f.kind
    if kind in ("choice", "multi_choice"):
        return f.choices[0].value if f.choices else ""
    return {
        "number": "2",
        "money": "100.00",
        "date": "2026-01-15",
        "year": "2024",
        "phone": "17000009999",
        "id_number": SYNTHETIC_PERSON["id_number"],
        "code": "ABC123456",
    }.get(kind, "测试填写")


@dataclass
class Policy:
    """How the autopilot behaves. ``fail`` maps an effect name to reasons consumed in order
    (each makes one attempt fail); afterwards the effect succeeds."""

    method: str = "id_card"
    fallback: tuple[str, ...] = ()  # methods to choose next, in order, after a failure
    fail: dict[str, list[str]] = field(default_factory=dict)
    code_result: str = "valid"
    face_live: bool = True
    face_matched: bool = True
    card_valid: bool = True
    licences: tuple[ev.Licence, ...] = ()
    benefits: tuple[ev.Benefit, ...] = (
        ev.Benefit("BN-ELDER", "高龄津贴", "民政局", "每月100元", "matched"),
    )
    queued: bool = False
    payment: bool = True
    decline_consent: bool = False
    decline_commitment_once: bool = False
    edit_once: bool = False
    waive: bool = True
    scan_fields: bool = True
    rating: str | None = "5"
    reason: bool = True
    timeout_at: str | None = None  # step id (or "step:phase") where the citizen walks away
    timeout_by_timer: bool = False
    cancel_at: str | None = None
    help_at: str | None = None
    assistant_available: bool = True
    back_at: str | None = None
    max_events: int = 400


class Autopilot:
    """Plays citizen and kiosk for one session; see :class:`Policy`."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.now = 0.0
        self._fails = {k: list(v) for k, v in self.policy.fail.items()}
        self._done_once: set[str] = set()
        self._chosen = 0
        self._retries = 0
        self.online = True

    def _fail(self, name: str) -> str | None:
        queue = self._fails.get(name)
        return queue.pop(0) if queue else None

    def answer(self, effect: ev.Request) -> ev.Event | None:
        p = self.policy
        rid = effect.request_id
        reason = self._fail(effect.name)
        if reason is None and not self.online and effect.name in _NEEDS_LINK:
            reason = "offline"
        if reason is not None:
            return ev.EffectFailed(request_id=rid, effect=effect.name, reason=reason)
        person = SYNTHETIC_PERSON
        if isinstance(effect, ev.ReadIdCard):
            number = person["id_number"]
            if not p.card_valid:  # a misread: the check character does not match
                number = number[:17] + ("0" if number[17] != "0" else "1")
            return ev.IdCardRead(
                request_id=rid,
                name=person["name"],
                id_number=number,
                gender=person["gender"],
                birth=person["birth"],
                address=person["address"],
            )
        if isinstance(effect, ev.ScanCode):
            if effect.purpose == "lutong_code":
                return ev.CodeScanned(request_id=rid, text="LTM:synthetic-token-0001")
            return ev.CodeScanned(
                request_id=rid, text=_FIELD_SAMPLES.get(effect.purpose, "ABC123456")
            )
        if isinstance(effect, ev.VerifyCode):
            return ev.CodeVerified(request_id=rid, result=p.code_result, holder_ref="h-synthetic01")  # type: ignore[arg-type]
        if isinstance(effect, ev.CaptureFace):
            return ev.FaceCaptured(
                request_id=rid, live=p.face_live, matched=p.face_matched, score=0.91
            )
        if isinstance(effect, ev.FetchUserInfo):
            return ev.UserInfoFetched(request_id=rid, **person)
        if isinstance(effect, ev.FetchLicences):
            return ev.LicencesFetched(request_id=rid, licences=p.licences)
        if isinstance(effect, ev.FetchBenefits):
            return ev.BenefitsFetched(request_id=rid, benefits=p.benefits)
        if isinstance(effect, ev.CaptureDocument):
            return ev.DocumentCaptured(request_id=rid, ref=f"doc-{effect.material_code}")
        if isinstance(effect, ev.SubmitCase):
            payment = (
                ev.Payment("https://pay.example/qr/0001", "300.00元", "2026-12-31")
                if p.payment
                else None
            )
            if p.queued or not self.online:
                return ev.CaseSubmitted(
                    request_id=rid, queued=True, receipt_ref="OB-0001", payment=payment
                )
            return ev.CaseSubmitted(
                request_id=rid,
                case_number="JN2026112800001",
                receipt_ref="OB-0001",
                payment=payment,
            )
        if isinstance(effect, ev.QueryPlatform):
            answers: dict[str, dict[str, Any]] = {
                "case_status": {
                    "case_number": "JN2026112800001",
                    "status": "processing",
                    "status_text": "办理中",
                },
                "queue_ticket": {"ticket": "A023", "waiting": 4, "hall": "济南市民中心"},
                "invoice_check": {"result": "consistent", "result_text": "查验一致"},
                "certificate": {"document_ref": "cert-0001", "pages": 1},
            }
            data = answers.get(effect.kind, {})
            return ev.QueryAnswered(request_id=rid, data=data)
        if isinstance(effect, ev.PrintDocument):
            return ev.Printed(request_id=rid)
        if isinstance(effect, ev.CallAssistant):
            if not p.assistant_available:
                return ev.EffectFailed(
                    request_id=rid, effect="call_assistant", reason="no_assistant"
                )
            return ev.AssistantJoined(request_id=rid)
        return None

    def _once(self, key: str) -> bool:
        if key in self._done_once:
            return False
        self._done_once.add(key)
        return True

    def act(self, view: StepView) -> ev.Event:
        """The citizen's next action on this screen."""
        p = self.policy
        here = {view.step_id, f"{view.step_id}:{view.phase}"}
        if p.timeout_at in here and (view.countdown.state == "warning" or self._once("timeout")):
            if p.timeout_by_timer:
                return ev.TimerFired("idle")
            if view.countdown.state == "warning":  # the citizen does not come back
                return ev.Tick(self.now + view.countdown.timeout_s)
            return ev.Tick(self.now + view.countdown.warning_s)
        if p.cancel_at in here:
            return ev.Press("cancel")
        if p.help_at in here and self._once("help"):
            return ev.Press("help")
        if view.assistant == "connected":
            return ev.AssistantLeft()
        if p.back_at in here and view.button("back") and self._once("back"):
            return ev.Press("back")
        kind, phase = view.step_type, view.phase
        if kind == "identify":
            if phase == "choose":
                enabled = [c.value for c in view.choices if c.enabled]
                order = (p.method, *p.fallback)
                wanted = order[min(self._chosen, len(order) - 1)]
                self._chosen += 1
                return ev.Press("method", wanted if wanted in enabled else enabled[0])
            if phase == "enter_id":
                if not view.fields[0].value:
                    return ev.Input("id_number", SYNTHETIC_PERSON["id_number"])
                return ev.Press("next")
            return ev.Press("cancel")  # exhausted / no_method: the citizen gives up
        if kind == "consent":
            return ev.Press("decline" if p.decline_consent else "agree")
        if kind == "form":
            for f in view.fields:
                if f.editable and (not f.value or f.error is not None) and f.required:
                    if f.scan and p.scan_fields and self._once(f"scan:{f.id}"):
                        return ev.Press("scan", f.id)
                    if f.value and f.error is not None and not self._once(f"fix:{f.id}"):
                        return ev.Press("cancel")  # cannot produce a valid value
                    return ev.Input(f.id, sample_value(f))
            return ev.Press("next")
        if kind == "materials":
            for m in view.materials:
                if m.status == "missing" and m.required:
                    if m.waivable and p.waive:
                        return ev.Press("waive", m.code)
                    if m.can_capture:
                        return ev.Press("capture", m.code)
                    return ev.Press("cancel")
            return ev.Press("next")
        if kind == "commitment":
            if p.decline_commitment_once and self._once("decline_commitment"):
                return ev.Press("decline")
            return ev.Press("agree")
        if kind == "review":
            if p.edit_once and self._once("edit"):
                return ev.Press("edit")
            return ev.Press("confirm")
        if kind in ("submit", "print"):
            self._retries += 1
            if view.button("retry") and self._retries <= 3:
                return ev.Press("retry")
            return ev.Press("skip") if view.button("skip") else ev.Press("cancel")
        if kind == "pay_notice":
            return ev.Press("next")
        if kind == "evaluate":
            if p.rating is None:
                return ev.Press("skip")
            if not any(c.selected for c in view.choices if c.action == "rate"):
                return ev.Press("rate", p.rating)
            reasons = [c for c in view.choices if c.action == "reason"]
            if p.reason and reasons and not any(c.selected for c in reasons):
                return ev.Press("reason", reasons[0].value)
            return ev.Press("submit")
        return ev.Press("done")

    def drive(
        self,
        engine: FlowEngine,
        flow_id: str,
        item: CatalogItem,
        *,
        devices: Mapping[str, bool],
        online: bool = True,
    ) -> Trace:
        trace = Trace(flow_id, item.code)
        self.online = online
        effects = engine.start(flow_id, item, devices=devices, online=online)
        trace.add(None, effects)
        view: StepView | None = None
        pending: list[ev.Event] = []
        for _ in range(self.policy.max_events):
            for e in effects:
                if isinstance(e, ev.Show):
                    view = e.view
                elif isinstance(e, ev.Request):
                    answer = self.answer(e)
                    if answer is not None:
                        pending.append(answer)
            if not engine.active:
                break
            if pending:
                event = pending.pop(0)
            else:
                assert view is not None
                self.now += 2.0
                tick = ev.Tick(self.now)
                fx = engine.feed(tick)
                if fx:
                    trace.add(tick, fx)
                if not engine.active:
                    break
                event = self.act(view)
                if isinstance(event, ev.Tick):
                    self.now = event.now
            before = engine.events_ignored
            effects = engine.feed(event)
            trace.add(event, effects, ignored=engine.events_ignored > before)
        return trace


def all_devices(up: bool = True) -> dict[str, bool]:
    from flows.model import DEVICE_ROLES

    return dict.fromkeys(DEVICE_ROLES, up)


# --------------------------------------------------------------------------- diagrams


def mermaid(flow: FlowDef) -> str:
    """A Mermaid ``flowchart TD`` of the flow: steps, branches, declines, edits, and the
    help/cancel/timeout transitions valid everywhere (drawn once, as a note)."""
    lines = ["flowchart TD"]
    shape = {"finish": ("([", "])"), "submit": ("[[", "]]"), "identify": ("{{", "}}")}
    for step in flow.steps:
        left, right = shape.get(step.type, ("[", "]"))
        label = f"{step.title.zh_CN}<br/>{step.type}"
        if step.when_source:
            label += f"<br/>when: {step.when_source}"
        lines.append(f'    {_node(step.id)}{left}"{_esc(label)}"{right}')
    for step in flow.steps:
        for b in step.next:
            arrow = f' -->|"{_esc(b.source)}"| ' if b.source else " --> "
            lines.append(f"    {_node(step.id)}{arrow}{_node(b.goto)}")
        if step.on_decline:
            lines.append(f"    {_node(step.id)} -.->|decline| {_node(step.on_decline)}")
        if step.edit:
            lines.append(f"    {_node(step.id)} -.->|edit| {_node(step.edit)}")
    lines.append('    anywhere(["any step: help → call_assistant; cancel / idle timeout → end"])')
    return "\n".join(lines) + "\n"


def _node(step_id: str) -> str:
    return f"s_{step_id}"


def _esc(text: str | None) -> str:
    return (text or "").replace('"', "#quot;")


__all__ = [
    "SYNTHETIC_PERSON",
    "Autopilot",
    "Policy",
    "Trace",
    "TraceEntry",
    "all_devices",
    "compact_effect",
    "compact_event",
    "mermaid",
    "redact",
    "run_events",
]
