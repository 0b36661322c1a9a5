"""Events into the engine and effects out of it: the whole interface of :mod:`flows.engine`.

Contract: the kiosk feeds :class:`Event` objects to ``FlowEngine.feed`` on one thread (the
GUI thread) and carries out the :class:`Effect` objects returned, in order. Effects that start
work (read a card, call the platform, print) carry a ``request_id``; the kiosk answers with
the matching result event or :class:`EffectFailed` carrying the same ``request_id``. An
answer whose ``request_id`` is not the one pending (a late reply after cancel or timeout) is
ignored, so it can never bring personal data into a new session. ``request_id=None`` on an
answer means "the one pending" (convenient in scripted event files).

Time comes only from :class:`Tick` (and :class:`TimerFired`): seconds on any monotonic clock
the kiosk chooses. The engine never reads a clock.

Wire format of event files (``kiosk flows run FLOW --events FILE``): a YAML/JSON list of
mappings, each ``{"type": SNAKE_NAME, field: value, …}`` with the fields of the dataclass,
e.g. ``{"type": "press", "action": "agree"}`` or ``{"type": "tick", "now": 46}``.
:func:`parse_event` validates them (pydantic) and raises :class:`EventFormatError`.

Personal data: :class:`IdCardRead`, :class:`UserInfoFetched`, :class:`CodeScanned`,
:class:`Input` values, :class:`LicencesFetched`, :class:`BenefitsFetched` carry it. The
engine keeps it only in the session, which is wiped on finish, cancel and timeout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import TypeAdapter, ValidationError

from flows.model import Text

# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Event:
    kind: ClassVar[str] = "event"


@dataclass(frozen=True, slots=True)
class Tick(Event):
    """The kiosk's clock: ``now`` in seconds. Drives the idle timeout."""

    kind: ClassVar[str] = "tick"
    now: float


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    """A timer requested by :class:`StartTimer` ran out (``now`` optional)."""

    kind: ClassVar[str] = "timer_fired"
    name: str
    now: float | None = None


@dataclass(frozen=True, slots=True)
class Press(Event):
    """The citizen pressed a button (``action`` from the view's buttons/choices)."""

    kind: ClassVar[str] = "press"
    action: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Input(Event):
    """The citizen typed ``value`` into field ``field`` (personal data)."""

    kind: ClassVar[str] = "input"
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Result(Event):
    """Base of answers to effects."""

    kind: ClassVar[str] = "result"
    answers: ClassVar[str] = ""
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class IdCardRead(Result):
    kind: ClassVar[str] = "id_card_read"
    answers: ClassVar[str] = "read_id_card"
    name: str = ""
    id_number: str = ""
    gender: str = ""
    birth: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class CodeScanned(Result):
    kind: ClassVar[str] = "code_scanned"
    answers: ClassVar[str] = "scan_code"
    text: str = ""


@dataclass(frozen=True, slots=True)
class CodeVerified(Result):
    """鲁通码 验码 answer (platform ``/identity/verify-code``)."""

    kind: ClassVar[str] = "code_verified"
    answers: ClassVar[str] = "verify_code"
    result: Literal["valid", "expired", "rejected"] = "rejected"
    holder_ref: str | None = None


@dataclass(frozen=True, slots=True)
class FaceCaptured(Result):
    """Liveness check plus 1:1 match against the card photo or the platform's photo."""

    kind: ClassVar[str] = "face_captured"
    answers: ClassVar[str] = "capture_face"
    live: bool = False
    matched: bool = False
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class UserInfoFetched(Result):
    """获取用户信息 answer after consent (platform ``/identity/user-info``)."""

    kind: ClassVar[str] = "user_info_fetched"
    answers: ClassVar[str] = "fetch_user_info"
    name: str | None = None
    id_number: str | None = None
    gender: str | None = None
    birth: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Licence:
    id: str
    type: str
    type_name: str
    number: str = ""
    holder_name: str = ""
    issuer: str = ""
    valid_to: str | None = None


@dataclass(frozen=True, slots=True)
class LicencesFetched(Result):
    kind: ClassVar[str] = "licences_fetched"
    answers: ClassVar[str] = "fetch_licences"
    licences: tuple[Licence, ...] = ()


@dataclass(frozen=True, slots=True)
class Benefit:
    code: str
    name: str
    department: str = ""
    amount_text: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class BenefitsFetched(Result):
    kind: ClassVar[str] = "benefits_fetched"
    answers: ClassVar[str] = "fetch_benefits"
    benefits: tuple[Benefit, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentCaptured(Result):
    """A paper material was photographed; ``ref`` is the kiosk's handle of the image."""

    kind: ClassVar[str] = "document_captured"
    answers: ClassVar[str] = "capture_document"
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    """一码缴费: what to show; the QR content is a payment URL (display only)."""

    qr: str
    amount_text: str
    deadline_text: str = ""


@dataclass(frozen=True, slots=True)
class CaseSubmitted(Result):
    """The case went to the outbox: ``case_number`` when the platform answered in time;
    otherwise ``queued=True`` and ``receipt_ref`` (the outbox receipt) only."""

    kind: ClassVar[str] = "case_submitted"
    answers: ClassVar[str] = "submit_case"
    case_number: str | None = None
    queued: bool = False
    receipt_ref: str = ""
    payment: Payment | None = None


@dataclass(frozen=True, slots=True)
class QueryAnswered(Result):
    """Answer to :class:`QueryPlatform` (case status, queue ticket, invoice check, certificate)."""

    kind: ClassVar[str] = "query_answered"
    answers: ClassVar[str] = "query_platform"
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Printed(Result):
    kind: ClassVar[str] = "printed"
    answers: ClassVar[str] = "print_document"


@dataclass(frozen=True, slots=True)
class AssistantJoined(Result):
    kind: ClassVar[str] = "assistant_joined"
    answers: ClassVar[str] = "call_assistant"


@dataclass(frozen=True, slots=True)
class AssistantLeft(Result):
    kind: ClassVar[str] = "assistant_left"
    answers: ClassVar[str] = "call_assistant"


@dataclass(frozen=True, slots=True)
class EffectFailed(Result):
    """The effect named ``effect`` failed; ``reason`` is a short code (``no_card``,
    ``timeout``, ``offline``, ``paper_out``, ``outbox_full``, ``no_assistant`` …)."""

    kind: ClassVar[str] = "effect_failed"
    effect: str = ""
    reason: str = "failed"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Tick,
        TimerFired,
        Press,
        Input,
        IdCardRead,
        CodeScanned,
        CodeVerified,
        FaceCaptured,
        UserInfoFetched,
        LicencesFetched,
        BenefitsFetched,
        DocumentCaptured,
        CaseSubmitted,
        QueryAnswered,
        Printed,
        AssistantJoined,
        AssistantLeft,
        EffectFailed,
    )
}


class EventFormatError(ValueError):
    """An event mapping (from an events file) is malformed."""


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Event]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls.kind)
    if adapter is None:
        adapter = _ADAPTERS[cls.kind] = TypeAdapter(cls)
    return adapter


def parse_event(raw: Any) -> Event:
    """Build an event from ``{"type": NAME, …}``; raise :class:`EventFormatError`."""
    if not isinstance(raw, Mapping):
        raise EventFormatError(f"an event is a mapping, not {type(raw).__name__}")
    name = raw.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise EventFormatError(
            f"unknown event type {name!r} (known: {', '.join(sorted(EVENT_TYPES))})"
        )
    body = {k: v for k, v in raw.items() if k != "type"}
    try:
        event: Event = _adapter(cls).validate_python(body, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(event)"
        raise EventFormatError(f"event {name!r}: {loc}: {first['msg']}") from None
    except RecursionError:
        raise EventFormatError(f"event {name!r}: nested too deeply") from None
    return event


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class Effect:
    name: ClassVar[str] = "effect"
    #: True when the effect waits for the citizen (idle timer keeps running).
    waits_for_citizen: ClassVar[bool] = False

    def as_dict(self) -> dict[str, Any]:
        return {"effect": self.name, **_plain(self)}


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


@dataclass(frozen=True, slots=True)
class Request(Effect):
    """An effect that is answered by a result event with the same ``request_id``."""

    request_id: int = 0


@dataclass(frozen=True, slots=True)
class Show(Effect):
    """Draw this screen (:class:`flows.views.StepView`)."""

    name: ClassVar[str] = "show"
    view: Any = None  # StepView; typed Any to keep this module free of the view types


@dataclass(frozen=True, slots=True)
class Speak(Effect):
    name: ClassVar[str] = "speak"
    text: Text = field(default_factory=lambda: Text("", ""))


@dataclass(frozen=True, slots=True)
class ReadIdCard(Request):
    name: ClassVar[str] = "read_id_card"
    waits_for_citizen: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ScanCode(Request):
    name: ClassVar[str] = "scan_code"
    waits_for_citizen: ClassVar[bool] = True
    purpose: str = "lutong_code"  # or the id of the form field the code fills


@dataclass(frozen=True, slots=True)
class VerifyCode(Request):
    name: ClassVar[str] = "verify_code"
    code: str = ""


@dataclass(frozen=True, slots=True)
class CaptureFace(Request):
    """Liveness + 1:1 match: against the card photo just read, or the platform's photo of
    ``id_number``/``holder_ref``."""

    name: ClassVar[str] = "capture_face"
    waits_for_citizen: ClassVar[bool] = True
    against: Literal["card_photo", "platform"] = "platform"
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class FetchUserInfo(Request):
    name: ClassVar[str] = "fetch_user_info"
    holder_ref: str | None = None
    id_number: str | None = None
    scope: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchLicences(Request):
    name: ClassVar[str] = "fetch_licences"
    holder: str | None = None
    holder_ref: str | None = None


@dataclass(frozen=True, slots=True)
class FetchBenefits(Request):
    name: ClassVar[str] = "fetch_benefits"
    holder: str | None = None
    holder_ref: str | None = None


@dataclass(frozen=True, slots=True)
class CaptureDocument(Request):
    name: ClassVar[str] = "capture_document"
    waits_for_citizen: ClassVar[bool] = True
    material_code: str = ""


@dataclass(frozen=True, slots=True)
class SubmitCase(Request):
    """Put the case into the outbox (body of ``POST /api/v1/cases``; the kiosk adds
    ``kiosk_id``, ``submitted_at`` and turns material ``content_ref`` into ``content_b64``)."""

    name: ClassVar[str] = "submit_case"
    idempotency_key: str = ""
    item_code: str = ""
    session_id: str = ""
    applicant: Mapping[str, Any] = field(default_factory=dict)
    form: Mapping[str, Any] = field(default_factory=dict)
    materials: tuple[Mapping[str, Any], ...] = ()
    commitment: bool = False


@dataclass(frozen=True, slots=True)
class QueryPlatform(Request):
    """An online request answered at once: ``kind`` is case_status | queue_ticket |
    invoice_check | certificate."""

    name: ClassVar[str] = "query_platform"
    kind: str = ""
    item_code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PrintDocument(Request):
    name: ClassVar[str] = "print_document"
    document: str = "receipt"
    printer: str = "receipt_printer"
    item_code: str = ""
    content: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubmitEvaluation(Effect):
    """好差评 into the outbox; ``satisfaction`` 1..5 with 5 = 非常满意 (the kiosk maps it to
    the platform's ``code_order``)."""

    name: ClassVar[str] = "submit_evaluation"
    item_code: str = ""
    case_number: str | None = None
    satisfaction: int = 5
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallAssistant(Request):
    """Ask for help: ``remote_video`` for items that offer remote help, else hall staff."""

    name: ClassVar[str] = "call_assistant"
    mode: Literal["remote_video", "hall_staff"] = "hall_staff"
    item_code: str = ""
    flow_id: str = ""
    step_id: str = ""


@dataclass(frozen=True, slots=True)
class CancelRequest(Effect):
    """Abandon the pending request (device operation): its answer will be ignored."""

    name: ClassVar[str] = "cancel_request"
    request_id: int = 0


@dataclass(frozen=True, slots=True)
class StartTimer(Effect):
    """(Re)arm timer ``name`` to fire :class:`TimerFired` after ``after_s`` seconds."""

    name: ClassVar[str] = "start_timer"
    timer: str = "idle"
    after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CancelTimer(Effect):
    name: ClassVar[str] = "cancel_timer"
    timer: str = "idle"


@dataclass(frozen=True, slots=True)
class EndSession(Effect):
    """The session is over and its data wiped; the kiosk wipes its own copies (photos,
    captured documents) and returns to the home screen."""

    name: ClassVar[str] = "end_session"
    reason: Literal["finished", "cancelled", "timeout", "declined"] = "finished"
