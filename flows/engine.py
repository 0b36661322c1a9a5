"""The flow engine: one citizen session at a time, events in, effects out.

Why our own engine rather than python-statemachine 3.x: a flow here is a short sequence of
typed steps, each with a few sub-phases (waiting for a card, verifying a code, sending),
plus three transitions valid everywhere (help, cancel, idle timeout). python-statemachine
would make every (step × phase) pair a state and every result a transition while its YAML
loader still skips the structural checks we need (reachability, dead ends, translations) —
we would validate the documents ourselves anyway. A small dispatch on ``(step type, event
type)`` is about 800 lines, has no dependency, is easy to walk exhaustively in tests, and
handles well over 10,000 events a second (``bench/flows.py``).

Threading contract: not thread-safe; call :meth:`FlowEngine.start` and :meth:`FlowEngine.feed`
from one thread (the kiosk's GUI thread). Both return the effects to carry out, in order;
when the screen changed the last one is a :class:`~flows.events.Show`.

Time: the engine never reads a clock. :class:`~flows.events.Tick` sets "now"; the idle timer
(default 60 s, warning at 45 s; per flow and per step overridable) is a state of the session
with deadlines in that time base. The engine also emits :class:`~flows.events.StartTimer` /
:class:`~flows.events.CancelTimer` so a kiosk may use one-shot timers instead of ticks;
:class:`~flows.events.TimerFired` ``("idle")`` advances the idle state exactly like a tick
reaching the deadline. The idle timer runs while the citizen is expected to act (including
"place your card" waits) and pauses while the system works (platform calls, printing) or an
assistant is being called.

Personal data lives only in :class:`Session`. Finishing, cancelling, declining consent and
the idle timeout all end the session: it is dropped (``engine.session`` becomes ``None``) and
nothing personal stays reachable from the engine (proved in ``tests/flows/test_wipe.py``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flows import events as ev
from flows.catalogue import CatalogItem
from flows.idnumber import is_valid_id_number, mask_id_number, mask_phone
from flows.model import METHOD_DEVICE, FieldDef, FlowDef, IdleSpec, StepDef, Text
from flows.strings import REASONS_BAD, REASONS_GOOD, T
from flows.views import (
    ButtonView,
    ChoiceView,
    Countdown,
    FieldView,
    MaterialView,
    PaymentView,
    Progress,
    StepView,
    SummaryRow,
)

log = logging.getLogger(__name__)

_INF = math.inf
_EDITABLE_STEPS = frozenset({"form", "materials", "commitment", "review"})
_FAIL_TEXT = {
    "no_card": "err.no_card",
    "timeout": "err.timeout",
    "offline": "err.offline",
    "not_found": "err.not_found",
    "outbox_full": "err.outbox_full",
    "paper_out": "err.paper_out",
    "no_assistant": "err.no_assistant",
}
#: Why the document camera refused a page (kiosk.runtime) → what the citizen is told.
_CAPTURE_TEXT = {
    "no_document": "err.capture_no_document",
    "too_dark": "err.capture_dark",
    "blurred": "err.capture_blurred",
    "too_large": "err.capture_too_large",
    "device": "err.no_camera",
    "timeout": "err.timeout",
}


class SessionBusyError(RuntimeError):
    """A session is already running: one citizen at a time."""


@dataclass(slots=True)
class Pending:
    request_id: int
    effect: str
    waits_for_citizen: bool
    purpose: str = ""


@dataclass(slots=True)
class Session:
    """Everything about one citizen's visit. Dropped as a whole when the session ends."""

    id: str
    flow: FlowDef
    item: CatalogItem
    item_ctx: dict[str, Any]
    devices: dict[str, bool]
    online: bool
    idle: IdleSpec
    index: int = 0
    phase: str = ""
    history: list[int] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] | None = None
    licences: list[ev.Licence] = field(default_factory=list)
    benefits: list[ev.Benefit] | None = None
    fetch_queue: list[str] = field(default_factory=list)
    fetch_failed: list[str] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    field_errors: dict[str, str] = field(default_factory=dict)
    materials: dict[str, dict[str, Any]] = field(default_factory=dict)
    commitment: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    rating: int | None = None
    reasons: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    method: str | None = None
    face_id: str = ""
    pending: Pending | None = None
    error: str | None = None
    assistant: str | None = None
    assistant_request: int | None = None
    warned: bool = False
    warn_at: float = _INF
    end_at: float = _INF
    timer_running: bool = False
    static_fields: dict[str, tuple[FieldDef, ...]] = field(default_factory=dict)
    field_views: dict[tuple[Any, ...], FieldView] = field(default_factory=dict)

    @property
    def step(self) -> StepDef:
        return self.flow.steps[self.index]


def _item_context(item: CatalogItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "category": item.category,
        "flow": item.flow,
        "remote_help": item.remote_help,
        "needs_online": item.needs_online,
        "cross_region": item.cross_region is not None,
        "departments": list(item.departments),
        "lead_department": item.lead_department,
        "has_materials": bool(item.materials),
    }


class FlowEngine:
    """Runs flows for one kiosk. See the module docstring for the contract."""

    def __init__(
        self,
        flows: Mapping[str, FlowDef],
        *,
        idle_timeout_s: float = 60.0,
        idle_warning_s: float = 45.0,
        on_transition: Callable[[str, str, str], None] | None = None,
    ) -> None:
        """``on_transition(flow_id, from_step, to_step)`` observes every defined transition
        taken (including through skipped steps); it must not keep personal data."""
        if idle_warning_s >= idle_timeout_s:
            raise ValueError("idle_warning_s must be less than idle_timeout_s")
        self.flows = flows
        self.on_transition = on_transition
        self.default_idle = IdleSpec(timeout_s=idle_timeout_s, warning_s=idle_warning_s)
        self.now = 0.0
        self.session: Session | None = None
        self.events_processed = 0
        self.events_ignored = 0
        self._next_request = 0
        self._sessions_started = 0
        self._out: list[ev.Effect] = []
        self._dirty = False
        self._rearmed = False

    # ------------------------------------------------------------------ public API

    def start(
        self,
        flow_id: str,
        item: CatalogItem,
        *,
        devices: Mapping[str, bool],
        online: bool,
        session_id: str | None = None,
    ) -> list[ev.Effect]:
        """Begin a session of ``flow_id`` for catalogue ``item``."""
        if self.session is not None:
            raise SessionBusyError("a session is already running")
        flow = self.flows[flow_id]
        self._sessions_started += 1
        sid = session_id or f"s{self._sessions_started:06d}"
        idle = flow.idle or self.default_idle
        self.session = Session(
            id=sid,
            flow=flow,
            item=item,
            item_ctx=_item_context(item),
            devices=dict(devices),
            online=online,
            idle=idle,
        )
        log.info("session started", extra={"flow": flow.id, "item_code": item.code})
        self._enter(0)
        return self._flush()

    def feed(self, event: ev.Event) -> list[ev.Effect]:
        """Process one event; return the effects to carry out."""
        self.events_processed += 1
        self._rearmed = False
        if isinstance(event, ev.Tick):
            self.now = event.now
            self._check_idle()
        elif isinstance(event, ev.TimerFired):
            if event.now is not None:
                self.now = event.now
            if event.name == "idle":
                self._idle_timer_fired()
        elif self.session is None:
            self.events_ignored += 1
        elif isinstance(event, ev.Press):
            self._on_press(self.session, event)
        elif isinstance(event, ev.Input):
            self._on_input(self.session, event)
        elif isinstance(event, ev.Result):
            self._on_result(self.session, event)
        else:
            self.events_ignored += 1
        return self._flush()

    @property
    def active(self) -> bool:
        return self.session is not None

    def view(self) -> StepView | None:
        """The current screen (built on demand; ``None`` between sessions)."""
        return None if self.session is None else self._view(self.session)

    # ------------------------------------------------------------------ plumbing

    def _flush(self) -> list[ev.Effect]:
        if self._dirty and self.session is not None:
            self._out.append(ev.Show(view=self._view(self.session)))
        self._dirty = False
        out, self._out = self._out, []
        return out

    def _emit(self, effect: ev.Effect) -> None:
        self._out.append(effect)

    def _request(self, s: Session, effect_cls: type[ev.Request], tag: str = "", **kw: Any) -> None:
        self._next_request += 1
        effect = effect_cls(request_id=self._next_request, **kw)
        s.pending = Pending(self._next_request, effect.name, effect.waits_for_citizen, tag)
        self._emit(effect)
        self._rearm(s)

    def _say(self, text: Text | None) -> None:
        if text is not None:
            self._emit(ev.Speak(text=text))

    def _fail_text(self, reason: str, default: str) -> str:
        return _FAIL_TEXT.get(reason, default)

    def _set_error(self, s: Session, key: str | None) -> None:
        s.error = key
        if key is not None:
            self._say(T[key])

    def _context(self, s: Session) -> dict[str, Any]:
        mats = [m["source"] for m in s.materials.values()]
        case = s.results.get("case") or {}
        return {
            "item": s.item_ctx,
            "identity": {"method": s.identity.get("method"), "verified": bool(s.identity)},
            "form": s.form,
            "materials": {
                "waived": mats.count("waived"),
                "captured": mats.count("captured"),
                "from_licence": mats.count("licence"),
            },
            "results": {
                "case": {"queued": case.get("queued"), "has_payment": bool(case.get("payment"))},
                **{k: True for k in s.results if k != "case"},
            },
            "online": s.online,
            "consent": {"granted": bool(s.consent)},
            "session": {"licences": len(s.licences)},
        }

    # ------------------------------------------------------------------ idle timer

    def _idle_paused(self, s: Session) -> bool:
        if s.assistant in ("calling", "connected"):
            return True
        return s.pending is not None and not s.pending.waits_for_citizen

    def _idle_spec(self, s: Session) -> IdleSpec:
        return s.step.idle or s.idle

    def _rearm(self, s: Session) -> None:
        """Activity happened: restart the idle countdown (or pause it)."""
        self._rearmed = True
        s.warned = False
        if self._idle_paused(s):
            s.warn_at = s.end_at = _INF
            if s.timer_running:
                self._emit(ev.CancelTimer(timer="idle"))
                s.timer_running = False
            return
        spec = self._idle_spec(s)
        s.warn_at = self.now + spec.warning_s
        s.end_at = self.now + spec.timeout_s
        s.timer_running = True
        self._emit(ev.StartTimer(timer="idle", after_s=spec.warning_s))

    def _check_idle(self) -> None:
        s = self.session
        if s is None:
            return
        if self.now >= s.end_at:
            self._end(s, "timeout")
        elif self.now >= s.warn_at and not s.warned:
            self._warn(s)

    def _idle_timer_fired(self) -> None:
        s = self.session
        if s is None or not s.timer_running:
            return
        if s.warned:
            self._end(s, "timeout")
        else:
            self._warn(s)

    def _warn(self, s: Session) -> None:
        spec = self._idle_spec(s)
        s.warned = True
        s.end_at = min(s.end_at, self.now + (spec.timeout_s - spec.warning_s))
        self._emit(ev.StartTimer(timer="idle", after_s=spec.timeout_s - spec.warning_s))
        self._say(T["prompt.warning"])
        self._dirty = True

    # ------------------------------------------------------------------ navigation

    def _enter(self, index: int, *, push: int | None = None) -> None:
        """Enter the step at ``index``, skipping steps whose ``when`` is false.

        ``push`` is the step we come from along a defined transition (kept for "back" and
        reported to the ``on_transition`` listener); ``None`` for the start and for "back".
        """
        s = self.session
        assert s is not None
        if push is not None:
            s.history.append(push)
        came_from = push
        for _ in range(len(s.flow.steps) + 1):
            if came_from is not None and self.on_transition is not None:
                self.on_transition(s.flow.id, s.flow.steps[came_from].id, s.flow.steps[index].id)
            came_from = index
            s.index = index
            s.phase = ""
            s.error = None
            s.field_errors = {}
            step = s.step
            if step.when is not None and not step.when(self._context(s)):
                index = self._next_index(s)
                continue
            stay = getattr(self, f"_enter_{step.type}")(s, step)
            if self.session is None:  # the step ended the session
                return
            if stay:
                self._dirty = True
                self._say(step.prompt or step.title)
                if s.pending is None:
                    self._rearm(s)
                log.debug("step entered", extra={"flow": s.flow.id, "step": step.id})
                return
            index = self._next_index(s)
        # only a cycle of steps whose `when` is false gets here: an authoring error
        raise RuntimeError(f"flow {s.flow.id!r} loops through skipped steps")

    def _next_index(self, s: Session) -> int:
        ctx = self._context(s)
        for branch in s.step.next:
            if branch.condition is None or branch.condition(ctx):
                return s.flow.index[branch.goto]
        raise RuntimeError(f"no branch of {s.step.id!r} applies")  # excluded by the loader

    def _advance(self, s: Session) -> None:
        s.pending = None
        self._enter(self._next_index(s), push=s.index)

    def _goto(self, s: Session, step_id: str) -> None:
        s.pending = None
        self._enter(s.flow.index[step_id], push=s.index)

    def _can_back(self, s: Session) -> bool:
        if s.pending is not None or s.step.type not in _EDITABLE_STEPS or not s.history:
            return False
        return s.flow.steps[s.history[-1]].type in _EDITABLE_STEPS

    def _end(self, s: Session, reason: str) -> None:
        if s.pending is not None:
            self._emit(ev.CancelRequest(request_id=s.pending.request_id))
        if s.assistant_request is not None and s.assistant in ("calling", "connected"):
            self._emit(ev.CancelRequest(request_id=s.assistant_request))
        self._emit(ev.CancelTimer(timer="idle"))
        self._emit(ev.EndSession(reason=reason))  # type: ignore[arg-type]
        log.info("session ended", extra={"flow": s.flow.id, "reason_code": reason})
        self.session = None  # the wipe: nothing else refers to the session's data
        self._dirty = False

    # ------------------------------------------------------------------ dispatch

    def _on_press(self, s: Session, e: ev.Press) -> None:
        action = e.action
        if action == "cancel":
            self._end(s, "cancelled")
            return
        if action == "help":
            self._call_assistant(s)
            return
        if action == "continue":
            if s.warned:
                self._rearm(s)
                self._dirty = True
            return
        if action == "back":
            if self._can_back(s):
                self._enter(s.history.pop())
            else:
                self.events_ignored += 1
            return
        handler = getattr(self, f"_press_{s.step.type}")
        before = self.events_ignored
        handler(s, s.step, e)
        if self.session is s and self.events_ignored == before:
            self._dirty = True
            if not self._rearmed:
                self._rearm(s)

    def _on_input(self, s: Session, e: ev.Input) -> None:
        step = s.step
        if step.type == "identify" and s.phase == "enter_id" and e.field == "id_number":
            s.face_id = e.value.strip().upper()
            s.error = None
        elif step.type == "form" and s.phase == "edit":
            fdef = self._visible_field(s, step, e.field)
            if fdef is None or not self._editable(s, fdef):
                self.events_ignored += 1
                return
            self._set_field(s, fdef, e.value)
        else:
            self.events_ignored += 1
            return
        self._dirty = True
        self._rearm(s)

    def _on_result(self, s: Session, e: ev.Result) -> None:
        answers = e.effect if isinstance(e, ev.EffectFailed) else e.answers
        if answers == "call_assistant":
            self._assistant_result(s, e)
            return
        p = s.pending
        if p is None or p.effect != answers or e.request_id not in (None, p.request_id):
            self.events_ignored += 1  # stale or unexpected: never let it touch the session
            return
        s.pending = None
        getattr(self, f"_result_{s.step.type}")(s, s.step, e, p)
        if self.session is s:
            self._dirty = True
            if s.pending is None:
                self._rearm(s)

    # ------------------------------------------------------------------ help

    def _call_assistant(self, s: Session) -> None:
        if s.assistant in ("calling", "connected"):
            self.events_ignored += 1
            return
        self._next_request += 1
        s.assistant_request = self._next_request
        s.assistant = "calling"
        self._emit(
            ev.CallAssistant(
                request_id=self._next_request,
                mode="remote_video" if s.item.remote_help else "hall_staff",
                item_code=s.item.code,
                flow_id=s.flow.id,
                step_id=s.step.id,
            )
        )
        self._rearm(s)
        self._dirty = True

    def _assistant_result(self, s: Session, e: ev.Result) -> None:
        if s.assistant_request is None or e.request_id not in (None, s.assistant_request):
            self.events_ignored += 1
            return
        if isinstance(e, ev.AssistantJoined):
            s.assistant = "connected"
        elif isinstance(e, ev.AssistantLeft):
            s.assistant = None
            s.assistant_request = None
        else:
            s.assistant = "unavailable"
            s.assistant_request = None
            self._say(T["err.no_assistant"])
        self._rearm(s)
        self._dirty = True

    # ------------------------------------------------------------------ identify

    def _methods(self, s: Session, step: StepDef) -> list[str]:
        return [m for m in step.methods if s.devices.get(METHOD_DEVICE[m], False)]

    def _usable_methods(self, s: Session, step: StepDef) -> list[str]:
        return [m for m in self._methods(s, step) if s.attempts.get(m, 0) < step.max_attempts]

    def _enter_identify(self, s: Session, step: StepDef) -> bool:
        s.identity = {}
        s.attempts = {}
        methods = self._methods(s, step)
        if not methods:
            s.phase = "no_method"
            s.error = "err.no_method"
        elif len(methods) == 1:
            self._start_method(s, step, methods[0])
        else:
            s.phase = "choose"
        return True

    def _start_method(self, s: Session, step: StepDef, method: str) -> None:
        s.method = method
        if method == "id_card":
            s.phase = "waiting_card"
            self._request(s, ev.ReadIdCard)
        elif method == "lutong_code":
            s.phase = "waiting_code"
            self._request(s, ev.ScanCode, tag="lutong_code", purpose="lutong_code")
        else:
            s.phase = "enter_id"
            s.face_id = ""

    def _press_identify(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "method" and s.phase in (
            "choose",
            "waiting_card",
            "waiting_code",
            "enter_id",
        ):
            if e.value not in self._usable_methods(s, step) or (
                e.value == s.method and s.phase != "choose"
            ):
                self.events_ignored += 1
                return
            if s.pending is not None:
                self._emit(ev.CancelRequest(request_id=s.pending.request_id))
                s.pending = None
            s.error = None
            self._start_method(s, step, e.value)
            self._say(T[f"prompt.{s.phase}"])
        elif e.action == "next" and s.phase == "enter_id":
            if not is_valid_id_number(s.face_id):
                self._set_error(s, "err.bad_id_number")
                self._rearm(s)
                return
            s.error = None
            s.phase = "waiting_face"
            self._request(s, ev.CaptureFace, against="platform", id_number=s.face_id)
        else:
            self.events_ignored += 1

    def _result_identify(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        method = s.method or "id_card"
        if isinstance(e, ev.EffectFailed):
            self._identify_failed(s, step, method, self._fail_text(e.reason, "err.device"))
        elif isinstance(e, ev.IdCardRead):
            if not is_valid_id_number(e.id_number) or not e.name:
                self._identify_failed(s, step, "id_card", "err.card_invalid")
                return
            s.identity = {
                "method": "id_card",
                "name": e.name,
                "id_number": e.id_number.upper(),
                "gender": e.gender,
                "birth": e.birth,
                "address": e.address,
            }
            if step.face_after_card and s.devices.get("camera", False):
                s.phase = "waiting_face_card"
                # 人证核验: the card's WLT photo cannot be decoded here (no vendor decoder is
                # shipped), so the live face is matched to the platform's photo of the
                # holder of the card just read.
                self._request(
                    s,
                    ev.CaptureFace,
                    against="platform",
                    id_number=s.identity.get("id_number"),
                )
            else:
                self._advance(s)
        elif isinstance(e, ev.CodeScanned):
            s.phase = "verifying"
            self._request(s, ev.VerifyCode, code=e.text)
        elif isinstance(e, ev.CodeVerified):
            if e.result == "valid" and e.holder_ref:
                s.identity = {"method": "lutong_code", "holder_ref": e.holder_ref}
                self._advance(s)
            else:
                key = "err.code_expired" if e.result == "expired" else "err.code_rejected"
                self._identify_failed(s, step, "lutong_code", key)
        elif isinstance(e, ev.FaceCaptured):
            if not e.live or not e.matched:
                self._identify_failed(
                    s, step, method, "err.not_live" if not e.live else "err.no_match"
                )
            elif s.phase == "waiting_face_card":
                s.identity["face_checked"] = True
                self._advance(s)
            else:
                s.identity = {"method": "face", "id_number": s.face_id, "face_checked": True}
                s.face_id = ""
                self._advance(s)

    def _identify_failed(self, s: Session, step: StepDef, method: str, key: str) -> None:
        s.identity = {}
        s.face_id = ""
        s.attempts[method] = s.attempts.get(method, 0) + 1
        self._set_error(s, key)
        usable = self._usable_methods(s, step)
        if len(self._methods(s, step)) > 1 and usable:
            s.phase = "choose"
            s.method = None
        elif usable:
            self._start_method(s, step, usable[0])
        else:
            s.phase = "exhausted"
            s.method = None

    # ------------------------------------------------------------------ consent

    def _enter_consent(self, s: Session, step: StepDef) -> bool:
        s.phase = "ask"
        return True

    def _press_consent(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if s.phase != "ask":
            self.events_ignored += 1
        elif e.action == "agree":
            s.consent = {"granted": True, "scope": list(step.scope), "at": self.now}
            s.fetch_queue = list(step.fetch)
            s.phase = "fetching"
            self._next_fetch(s)
        elif e.action == "decline":
            if step.on_decline:
                self._goto(s, step.on_decline)
            else:
                self._end(s, "declined")
        else:
            self.events_ignored += 1

    def _next_fetch(self, s: Session) -> None:
        ident = s.identity
        while s.fetch_queue:
            what = s.fetch_queue.pop(0)
            if what == "user_info":
                self._request(
                    s,
                    ev.FetchUserInfo,
                    holder_ref=ident.get("holder_ref"),
                    id_number=ident.get("id_number"),
                    scope=tuple(s.consent["scope"] if s.consent else ()),
                )
                return
            holder, ref = ident.get("id_number"), ident.get("holder_ref")
            if what == "licences":
                self._request(s, ev.FetchLicences, holder=holder, holder_ref=ref)
                return
            if what == "benefits":
                self._request(s, ev.FetchBenefits, holder=holder, holder_ref=ref)
                return
        self._advance(s)

    def _result_consent(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        if isinstance(e, ev.EffectFailed):
            s.fetch_failed.append(p.effect)
        elif isinstance(e, ev.UserInfoFetched):
            for key in ("name", "id_number", "gender", "birth", "phone", "address"):
                value = getattr(e, key)
                if value and not s.identity.get(key):
                    s.identity[key] = value
        elif isinstance(e, ev.LicencesFetched):
            s.licences = list(e.licences)
        elif isinstance(e, ev.BenefitsFetched):
            s.benefits = list(e.benefits)
        self._next_fetch(s)

    # ------------------------------------------------------------------ form

    def _visible(self, s: Session, step: StepDef) -> list[FieldDef]:
        candidates = s.static_fields.get(step.id)
        if candidates is None:  # conditions on the item alone: evaluated once a session
            ctx0 = self._context(s)
            candidates = tuple(
                f for f in step.fields if not f.when_static or (f.when is not None and f.when(ctx0))
            )
            s.static_fields[step.id] = candidates
        ctx = None
        out = []
        for f in candidates:
            if f.when is not None and not f.when_static:
                ctx = ctx or self._context(s)
                if not f.when(ctx):
                    continue
            out.append(f)
        return out

    def _visible_field(self, s: Session, step: StepDef, field_id: str) -> FieldDef | None:
        for f in self._visible(s, step):
            if f.id == field_id:
                return f
        return None

    def _derive(self, s: Session, source: str) -> str | None:
        head, _, rest = source.partition(".")
        value: Any = None
        if head == "identity":
            value = s.identity.get(rest)
        elif head == "item":
            value = s.item_ctx.get(rest)
            if isinstance(value, list):
                value = "、".join(value)
        elif head == "licence":
            ltype, _, attr = rest.partition(".")
            for lic in s.licences:
                if lic.type == ltype:
                    value = getattr(lic, attr)
                    break
        elif head == "results":
            kind, _, key = rest.partition(".")
            data = s.results.get(kind)
            value = data.get(key) if isinstance(data, Mapping) else None
        return None if value in (None, "") else str(value)

    def _editable(self, s: Session, f: FieldDef) -> bool:
        return f.editable if f.editable is not None else f.id not in s.derived

    def _enter_form(self, s: Session, step: StepDef) -> bool:
        for f in step.fields:
            if f.id in s.form:
                continue
            for source in f.sources:
                value = self._derive(s, source)
                if value is not None:
                    s.form[f.id] = value
                    if self._validate(s, f, value) is None:
                        s.derived[f.id] = source.partition(".")[0]
                    # else: left editable so the citizen can correct a bad platform value
                    break
        s.phase = "edit"
        return True

    def _choices(self, s: Session, f: FieldDef) -> list[tuple[str, Text]]:
        if f.choices_from == "licences":
            return [(lic.id, Text(lic.type_name, lic.type_name)) for lic in s.licences]
        return [(c.value, c.label) for c in f.choices]

    def _validate(self, s: Session, f: FieldDef, value: str) -> str | None:
        """Return an error key, or None when ``value`` is acceptable for ``f``."""
        if not value:
            return "err.required" if f.required else None
        kind = f.kind
        number: float | None = None
        if kind == "id_number":
            return None if is_valid_id_number(value) else "err.bad_id_number"
        if kind == "phone":
            return None if re.fullmatch(r"1[3-9]\d{9}", value) else "err.invalid"
        if kind == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return "err.invalid"
        elif kind in ("number", "year"):
            if not re.fullmatch(r"\d{1,12}", value):
                return "err.invalid"
            number = float(value)
        elif kind == "money":
            if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", value):
                return "err.invalid"
            number = float(value)
        elif kind in ("choice", "multi_choice"):
            allowed = {v for v, _ in self._choices(s, f)}
            picked = value.split(",") if kind == "multi_choice" else [value]
            if not picked or any(v not in allowed for v in picked):
                return "err.not_a_choice"
        elif len(value) > 200:
            return "err.invalid"
        if number is not None and (
            (f.minimum is not None and number < f.minimum)
            or (f.maximum is not None and number > f.maximum)
        ):
            return "err.out_of_range"
        if f.pattern and not re.fullmatch(f.pattern, value):
            return "err.invalid"
        return None

    def _set_field(self, s: Session, f: FieldDef, raw: str) -> None:
        value = raw.strip()
        if f.kind == "id_number":
            value = value.upper()
        s.form[f.id] = value
        if f.editable:  # the citizen overrode a derived value: it is now their input
            s.derived.pop(f.id, None)
        error = self._validate(s, f, value)
        if error:
            s.field_errors[f.id] = error
        else:
            s.field_errors.pop(f.id, None)

    def _press_form(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if s.phase != "edit":
            self.events_ignored += 1
        elif e.action == "scan":
            f = self._visible_field(s, step, e.value or "")
            if f is None or not f.scan or not s.devices.get("scanner", False):
                self.events_ignored += 1
                return
            s.phase = "scanning"
            self._request(s, ev.ScanCode, tag=f.id, purpose=f.id)
        elif e.action == "next":
            s.field_errors = {}
            for f in self._visible(s, step):
                error = self._validate(s, f, s.form.get(f.id, ""))
                if error:
                    s.field_errors[f.id] = error
            if s.field_errors:
                self._say(
                    T["err.required"]
                    if "err.required" in s.field_errors.values()
                    else T["err.invalid"]
                )
                self._rearm(s)
                return
            self._advance(s)
        else:
            self.events_ignored += 1

    def _result_form(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        s.phase = "edit"
        f = self._visible_field(s, step, p.purpose)
        if f is None:
            return
        if isinstance(e, ev.CodeScanned):
            self._set_field(s, f, e.text)
        else:
            s.field_errors[f.id] = "err.device"

    # ------------------------------------------------------------------ materials

    def _enter_materials(self, s: Session, step: StepDef) -> bool:
        if not s.item.materials:
            return False
        by_type = {lic.type: lic for lic in s.licences}
        for m in s.item.materials:
            if m.code in s.materials:
                continue
            lic = by_type.get(m.licence_type or "")
            if lic is not None:
                s.materials[m.code] = {
                    "source": "licence",
                    "licence_id": lic.id,
                    "number": lic.number,
                }
        s.phase = "collect"
        return True

    def _press_materials(self, s: Session, step: StepDef, e: ev.Press) -> None:
        mat = next((m for m in s.item.materials if m.code == e.value), None)
        if s.phase != "collect":
            self.events_ignored += 1
        elif (
            e.action == "capture"
            and mat is not None
            and s.materials.get(mat.code, {}).get("source", "captured") == "captured"
        ):  # not provided yet, or captured and now retaken (重拍)
            if not s.devices.get("document_camera", False):
                self._set_error(s, "err.no_camera")
                self._rearm(s)
                return
            s.phase = "capturing"
            s.error = None
            self._request(s, ev.CaptureDocument, tag=mat.code, material_code=mat.code)
        elif (
            e.action == "waive" and mat is not None and mat.waivable and mat.code not in s.materials
        ):
            s.materials[mat.code] = {"source": "waived"}
            s.error = None
            self._rearm(s)
        elif e.action == "next":
            missing = [m for m in s.item.materials if m.required and m.code not in s.materials]
            if missing:
                self._set_error(s, "err.materials_missing")
                self._rearm(s)
                return
            self._advance(s)
        else:
            self.events_ignored += 1

    def _result_materials(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        s.phase = "collect"
        if isinstance(e, ev.DocumentCaptured) and e.ref:
            s.materials[p.purpose] = {"source": "captured", "ref": e.ref}
        else:
            reason = e.reason if isinstance(e, ev.EffectFailed) else ""
            self._set_error(s, _CAPTURE_TEXT.get(reason, "err.capture"))

    # ------------------------------------------------------------------ commitment, review

    def _enter_commitment(self, s: Session, step: StepDef) -> bool:
        s.phase = "ask"
        return True

    def _press_commitment(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "agree":
            s.commitment = True
            self._advance(s)
        elif e.action == "decline":
            s.commitment = False
            if step.on_decline:
                # declining the 告知承诺 withdraws every 容缺 waiver
                s.materials = {k: v for k, v in s.materials.items() if v["source"] != "waived"}
                self._goto(s, step.on_decline)
            else:
                self._end(s, "declined")
        else:
            self.events_ignored += 1

    def _enter_review(self, s: Session, step: StepDef) -> bool:
        s.phase = "confirm"
        return True

    def _press_review(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "confirm":
            self._advance(s)
        elif e.action == "edit" and step.edit:
            self._goto(s, step.edit)
        else:
            self.events_ignored += 1

    # ------------------------------------------------------------------ submit

    def _enter_submit(self, s: Session, step: StepDef) -> bool:
        self._send(s, step)
        return True

    def _send(self, s: Session, step: StepDef) -> None:
        s.phase = "sending"
        s.error = None
        if step.request == "case":
            ident = s.identity
            self._request(
                s,
                ev.SubmitCase,
                idempotency_key=f"{s.id}:{step.id}",
                item_code=s.item.code,
                session_id=s.id,
                applicant={
                    "id_type": "resident",
                    "id_number": ident.get("id_number"),
                    "name": ident.get("name") or s.form.get("applicant_name"),
                    "phone": s.form.get("phone") or ident.get("phone"),
                },
                form=dict(s.form),
                materials=tuple(
                    {
                        "code": code,
                        "source": m["source"],
                        "licence_id": m.get("licence_id"),
                        "content_ref": m.get("ref"),
                        "commitment": m["source"] == "waived",
                    }
                    for code, m in s.materials.items()
                ),
                commitment=s.commitment,
            )
        else:
            params: dict[str, Any] = dict(s.form)
            if s.identity.get("holder_ref"):
                params["holder_ref"] = s.identity["holder_ref"]
            if s.identity.get("id_number"):
                params["id_number"] = s.identity["id_number"]
            self._request(
                s, ev.QueryPlatform, kind=step.request or "", item_code=s.item.code, params=params
            )

    def _press_submit(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "retry" and s.phase == "failed":
            self._send(s, step)
        else:
            self.events_ignored += 1

    def _result_submit(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        if isinstance(e, ev.CaseSubmitted):
            s.results["case"] = {
                "case_number": e.case_number,
                "queued": e.queued or e.case_number is None,
                "receipt_ref": e.receipt_ref,
                "payment": e.payment,
            }
            self._advance(s)
        elif isinstance(e, ev.QueryAnswered):
            s.results[step.request or "query"] = dict(e.data)
            self._advance(s)
        elif isinstance(e, ev.EffectFailed):
            s.phase = "failed"
            self._set_error(s, self._fail_text(e.reason, "err.submit"))

    # ------------------------------------------------------------------ pay notice, print

    def _enter_pay_notice(self, s: Session, step: StepDef) -> bool:
        case = s.results.get("case") or {}
        if not case.get("payment"):
            return False
        s.phase = "show"
        return True

    def _press_pay_notice(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "next":
            self._advance(s)
        else:
            self.events_ignored += 1

    def _enter_print(self, s: Session, step: StepDef) -> bool:
        if not s.devices.get(step.printer or "", False):
            s.results.setdefault("print", {})[step.document or ""] = "device_down"
            if step.optional:
                return False
            s.phase = "failed"
            s.error = "err.printer_down"
            return True
        self._print(s, step)
        return True

    def _print(self, s: Session, step: StepDef) -> None:
        s.phase = "printing"
        s.error = None
        self._request(
            s,
            ev.PrintDocument,
            document=step.document or "receipt",
            printer=step.printer or "receipt_printer",
            item_code=s.item.code,
            content=self._print_content(s, step),
        )

    def _print_content(self, s: Session, step: StepDef) -> dict[str, Any]:
        item = s.item
        case = s.results.get("case") or {}
        content: dict[str, Any] = {"item_name": item.name, "item_name_en": item.name_en}
        if step.document == "receipt":
            content.update(
                case_number=case.get("case_number"),
                queued=case.get("queued"),
                receipt_ref=case.get("receipt_ref"),
                departments=list(item.departments),
                lead_department=item.lead_department,
                waived=[c for c, m in s.materials.items() if m["source"] == "waived"],
            )
            if item.cross_region is not None:
                content["accepting_office"] = item.cross_region.accepting_office
                content["handling_office"] = item.cross_region.handling_office
        elif step.document == "licence":
            content["licence_id"] = s.form.get("licence")
        else:
            key = {"ticket": "queue_ticket"}.get(step.document or "", step.document or "")
            content.update(s.results.get(key) or {})
        return content

    def _press_print(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "retry" and s.phase == "failed" and s.devices.get(step.printer or "", False):
            self._print(s, step)
        elif e.action == "skip" and s.phase == "failed":
            self._advance(s)
        else:
            self.events_ignored += 1

    def _result_print(self, s: Session, step: StepDef, e: ev.Result, p: Pending) -> None:
        if isinstance(e, ev.Printed):
            s.results.setdefault("print", {})[step.document or ""] = "printed"
            self._advance(s)
        elif isinstance(e, ev.EffectFailed):
            s.results.setdefault("print", {})[step.document or ""] = "failed"
            s.phase = "failed"
            self._set_error(s, self._fail_text(e.reason, "err.print"))

    # ------------------------------------------------------------------ evaluate, finish

    def _enter_evaluate(self, s: Session, step: StepDef) -> bool:
        s.phase = "rate"
        s.rating = None
        s.reasons = []
        return True

    def _press_evaluate(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "rate" and e.value in ("1", "2", "3", "4", "5"):
            s.rating = int(e.value)
            s.reasons = []
            s.error = None
        elif e.action == "reason" and s.rating is not None:
            allowed = REASONS_GOOD if s.rating >= 4 else REASONS_BAD
            if e.value is None or e.value not in allowed:
                self.events_ignored += 1
                return
            if e.value in s.reasons:
                s.reasons.remove(e.value)
            else:
                s.reasons.append(e.value)
        elif e.action == "submit":
            if s.rating is None:
                self._set_error(s, "err.rate_first")
                return
            case = s.results.get("case") or {}
            self._emit(
                ev.SubmitEvaluation(
                    item_code=s.item.code,
                    case_number=case.get("case_number"),
                    satisfaction=s.rating,
                    reasons=tuple(s.reasons),
                )
            )
            self._advance(s)
            return
        elif e.action == "skip":
            self._advance(s)
            return
        else:
            self.events_ignored += 1
            return
        self._rearm(s)

    def _enter_finish(self, s: Session, step: StepDef) -> bool:
        s.phase = "done"
        return True

    def _press_finish(self, s: Session, step: StepDef, e: ev.Press) -> None:
        if e.action == "done":
            self._end(s, "finished")
        else:
            self.events_ignored += 1

    # ------------------------------------------------------------------ the view

    def _progress(self, s: Session) -> Progress:
        ctx = self._context(s)
        visible = [i for i, st in enumerate(s.flow.steps) if st.when is None or st.when(ctx)]
        index = visible.index(s.index) + 1 if s.index in visible else 1
        return Progress(index=index, total=len(visible))

    def _countdown(self, s: Session) -> Countdown:
        spec = self._idle_spec(s)
        if self._idle_paused(s):
            return Countdown("paused", spec.timeout_s, spec.warning_s)
        if s.warned:
            return Countdown(
                "warning", spec.timeout_s, spec.warning_s, max(0.0, s.end_at - self.now)
            )
        return Countdown("running", spec.timeout_s, spec.warning_s, max(0.0, s.end_at - self.now))

    def _buttons(self, s: Session, specific: list[ButtonView]) -> tuple[ButtonView, ...]:
        out = list(specific)
        if s.warned:
            out.insert(0, ButtonView("continue", T["continue"], primary=True))
        if self._can_back(s):
            out.append(ButtonView("back", T["back"]))
        out.append(
            ButtonView("help", T["help"], enabled=s.assistant not in ("calling", "connected"))
        )
        if s.step.type != "finish":
            out.append(ButtonView("cancel", T["cancel"]))
        return tuple(out)

    def _field_view(self, s: Session, f: FieldDef) -> FieldView:
        # views are immutable: reuse the one built for the same inputs (a per-session cache,
        # wiped with the session; bounded)
        value = s.form.get(f.id)
        editable = self._editable(s, f)
        key = (
            f.id,
            value,
            editable,
            s.field_errors.get(f.id),
            s.derived.get(f.id),
            len(s.licences),
        )
        cached = s.field_views.get(key)
        if cached is not None:
            return cached
        if len(s.field_views) > 512:
            s.field_views.clear()
        view = s.field_views[key] = self._build_field_view(s, f, value, editable)
        return view

    def _build_field_view(
        self, s: Session, f: FieldDef, value: str | None, editable: bool
    ) -> FieldView:
        display = value
        if value is not None and f.masked and not editable:
            display = mask_id_number(value) if f.kind == "id_number" else mask_phone(value)
        choices = tuple(
            ChoiceView(f.id, v, label, selected=value is not None and v in value.split(","))
            for v, label in self._choices(s, f)
        )
        err = s.field_errors.get(f.id)
        return FieldView(
            id=f.id,
            kind=f.kind,
            label=f.label,
            display=display,
            value=value if editable else None,
            editable=editable,
            required=f.required,
            masked=f.masked and not editable,
            personal_data=f.personal_data,
            source=s.derived.get(f.id, "input" if value else None),
            error=T[err] if err else None,
            hint=f.hint,
            choices=choices,
            scan=f.scan and s.devices.get("scanner", False),
        )

    def _summary(self, s: Session) -> list[SummaryRow]:
        item = s.item
        rows = [SummaryRow(T["sum.item"], item.name)]
        if len(item.departments) > 1:
            rows.append(SummaryRow(T["sum.departments"], "、".join(item.departments)))
        if item.lead_department:
            rows.append(SummaryRow(T["sum.lead"], item.lead_department))
        if item.cross_region is not None:
            rows.append(SummaryRow(T["sum.accepting"], item.cross_region.accepting_office))
            rows.append(SummaryRow(T["sum.handling"], item.cross_region.handling_office))
        if s.identity.get("name"):
            rows.append(SummaryRow(T["sum.applicant"], s.identity["name"], personal_data=True))
        return rows

    def _view(self, s: Session) -> StepView:
        step = s.step
        kind = step.type
        buttons: list[ButtonView] = []
        fields: tuple[FieldView, ...] = ()
        choices: tuple[ChoiceView, ...] = ()
        materials: tuple[MaterialView, ...] = ()
        summary: list[SummaryRow] = []
        payment = None
        result: Any = None
        prompt = step.prompt
        text = step.text
        if kind == "identify":
            usable = self._usable_methods(s, step)
            choices = tuple(
                ChoiceView(
                    "method",
                    m,
                    T[f"method.{m}"],
                    selected=m == s.method,
                    enabled=m in usable,
                    reason=None if m in usable else T["err.exhausted"],
                )
                for m in self._methods(s, step)
            )
            if s.phase in ("waiting_card", "waiting_code", "enter_id", "waiting_face"):
                prompt = T[f"prompt.{s.phase}"]
            if s.phase == "enter_id":
                fields = (
                    FieldView(
                        "id_number",
                        "id_number",
                        T["prompt.enter_id"],
                        s.face_id,
                        s.face_id,
                        True,
                        True,
                        False,
                        True,
                        "input",
                    ),
                )
                buttons.append(ButtonView("next", T["next"], primary=True))
        elif kind == "consent":
            if s.phase == "ask":
                buttons += [
                    ButtonView("agree", T["agree"], primary=True),
                    ButtonView("decline", T["decline"]),
                ]
        elif kind == "form":
            fields = tuple(self._field_view(s, f) for f in self._visible(s, step))
            if s.phase == "edit":
                buttons.append(ButtonView("next", T["next"], primary=True))
        elif kind == "materials":
            can_capture = s.devices.get("document_camera", False)
            views = []
            for m in s.item.materials:
                state = s.materials.get(m.code)
                views.append(
                    MaterialView(
                        code=m.code,
                        name=Text(m.name, m.name_en or m.name),
                        required=m.required,
                        status=state["source"] if state else "missing",
                        waivable=m.waivable,
                        can_capture=can_capture
                        and (state is None or state["source"] == "captured"),
                        ref=state.get("ref") if state else None,
                        licence_number=state.get("number") if state else None,
                    )
                )
            materials = tuple(views)
            if s.phase == "collect":
                buttons.append(ButtonView("next", T["next"], primary=True))
        elif kind == "commitment":
            waived = [
                m.name
                for m in s.item.materials
                if s.materials.get(m.code, {}).get("source") == "waived"
            ]
            if waived:
                summary.append(SummaryRow(T["sum.waived"], "、".join(waived)))
            buttons += [
                ButtonView("agree", T["agree"], primary=True),
                ButtonView("decline", T["decline"]),
            ]
        elif kind == "review":
            summary = self._summary(s)
            for f in self._visible(s, self._form_step(s)):
                fv = self._field_view(s, f)
                picked = [c.label for c in fv.choices if c.selected]
                label = (
                    Text("、".join(t.zh_CN for t in picked), ", ".join(t.en for t in picked))
                    if picked
                    else None
                )
                summary.append(
                    SummaryRow(
                        f.label, fv.display or "", personal_data=f.personal_data, value_text=label
                    )
                )
            for m in s.item.materials:
                state = s.materials.get(m.code)
                source = state["source"] if state else "missing"
                summary.append(
                    SummaryRow(
                        Text(m.name, m.name_en or m.name), source, value_text=T.get(f"mat.{source}")
                    )
                )
            buttons.append(ButtonView("confirm", T["confirm"], primary=True))
            if step.edit:
                buttons.append(ButtonView("edit", T["edit"]))
        elif kind == "submit":
            if s.phase == "failed":
                buttons.append(ButtonView("retry", T["retry"], primary=True))
            else:
                prompt = prompt or T["prompt.busy"]
        elif kind == "pay_notice":
            pay = (s.results.get("case") or {}).get("payment")
            if pay is not None:
                payment = PaymentView(pay.qr, pay.amount_text, pay.deadline_text)
            buttons.append(ButtonView("next", T["next"], primary=True))
        elif kind == "print":
            if s.phase == "failed":
                if s.devices.get(step.printer or "", False):
                    buttons.append(ButtonView("retry", T["retry"], primary=True))
                buttons.append(ButtonView("skip", T["skip"]))
        elif kind == "evaluate":
            choices = tuple(
                ChoiceView("rate", str(level), T[f"rate.{level}"], selected=s.rating == level)
                for level in (5, 4, 3, 2, 1)
            )
            if s.rating is not None:
                codes = REASONS_GOOD if s.rating >= 4 else REASONS_BAD
                choices += tuple(
                    ChoiceView("reason", c, T[f"reason.{c}"], selected=c in s.reasons)
                    for c in codes
                )
            buttons += [
                ButtonView(
                    "submit", T["submit_rating"], primary=True, enabled=s.rating is not None
                ),
                ButtonView("skip", T["skip"]),
            ]
        elif kind == "finish":
            summary = self._finish_summary(s)
            result = {k: v for k, v in s.results.items() if k not in ("case", "print")} or None
            buttons.append(ButtonView("done", T["done"], primary=True))
        error = T[s.error] if s.error else None
        if kind == "consent" and s.fetch_failed and s.phase != "ask":
            error = error or T["err.fetch"]
        return StepView(
            flow_id=s.flow.id,
            item_code=s.item.code,
            item_name=s.item.title,
            step_id=step.id,
            step_type=kind,
            phase=s.phase,
            title=step.title,
            prompt=prompt,
            progress=self._progress(s),
            countdown=self._countdown(s),
            buttons=self._buttons(s, buttons),
            fields=fields,
            choices=choices,
            materials=materials,
            summary=tuple(summary),
            text=text,
            error=error,
            busy=s.pending is not None and not s.pending.waits_for_citizen,
            assistant=s.assistant,
            payment=payment,
            remote_help=s.item.remote_help,
            result=result,
        )

    def _form_step(self, s: Session) -> StepDef:
        for i in reversed(s.history):
            if s.flow.steps[i].type == "form":
                return s.flow.steps[i]
        return StepDef(id="none", type="form", title=Text("-", "-"))

    def _finish_summary(self, s: Session) -> list[SummaryRow]:
        rows = [SummaryRow(T["sum.item"], s.item.name)]
        case = s.results.get("case")
        if case:
            if case.get("case_number"):
                rows.append(SummaryRow(T["sum.case_number"], case["case_number"]))
            else:
                rows.append(SummaryRow(T["sum.queued"], case.get("receipt_ref") or ""))
        ticket = s.results.get("queue_ticket")
        if ticket:
            rows.append(SummaryRow(T["sum.ticket"], str(ticket.get("ticket", ""))))
            rows.append(SummaryRow(T["sum.waiting"], str(ticket.get("waiting", ""))))
        status = s.results.get("case_status")
        if status:
            rows.append(SummaryRow(T["sum.status"], str(status.get("status_text", ""))))
        check = s.results.get("invoice_check")
        if check:
            rows.append(SummaryRow(T["sum.invoice"], str(check.get("result_text", ""))))
        if s.benefits is not None:
            if not s.benefits:
                rows.append(SummaryRow(T["sum.no_benefits"], ""))
            for b in s.benefits:
                rows.append(
                    SummaryRow(T["sum.benefit"], f"{b.name}（{b.department}）{b.amount_text}", True)
                )
        for doc, state in (s.results.get("print") or {}).items():
            key = "sum.printed" if state == "printed" else "sum.print_failed"
            rows.append(SummaryRow(T[key], doc, value_text=T.get(f"doc.{doc}")))
        return rows
