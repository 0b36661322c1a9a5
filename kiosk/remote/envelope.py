"""The ``rh/1`` envelope: one JSON object per message, the same on the WebRTC data channel and
on the platform WebSocket (fallback while ICE connects, and the only path in v1 tests).

Wire format (UTF-8 JSON text, at most :data:`MAX_BYTES` = 16 KiB, the safe cross-browser
data-channel message size)::

    {"v": "rh/1",            protocol version; anything else is refused
     "sid": "s-…",           help session id issued by the platform (1-64 of [A-Za-z0-9_.-])
     "from": "kiosk" | "assistant",
     "seq": 7,               per-sender counter, 1, 2, 3 … (duplicates are dropped by it)
     "id": "a-7f3c…",        unique message id (intents are applied once per id)
     "type": "intent.field", one of TYPES
     "rev": 12,              kiosk messages: the kiosk state revision after this message
     "base_rev": 12,         assistant intents: the kiosk revision the action was based on
     "body": {…}}            type-specific, a JSON object

Message families (kiosk is the source of truth and the only one that numbers state):

* kiosk → assistant: ``snapshot`` (masked step view, full), ``patch`` (changes since the
  previous revision), ``intent.result`` (``ref`` = intent id, ``result`` applied|rejected,
  ``reason``), ``consent.granted`` / ``consent.denied`` / ``consent.revoked`` (``scopes``),
  ``control.state`` (``holder``), ``citizen.stop``, ``resume.ok``, ``media.offer``
  (``sdp``: the kiosk's WebRTC offer with its ICE candidates, kiosk/remote/media.py),
  ``document.result`` (``doc_id``, ``result`` delivered|refused, ``reason``: what became of
  an offered document once the kiosk fetched and checked it).
* assistant → kiosk: ``hello`` (``last_rev``, ``last_seq``: resume after a reconnect),
  ``intent.field`` (``field``, ``value``), ``intent.navigate`` (``action``),
  ``intent.document`` (``doc_id``, ``sha256``, ``title``: the kiosk fetches the file itself;
  documents never travel in an envelope), ``consent.request`` (``scopes``),
  ``control.release``, ``resync`` (ask for a fresh snapshot), ``media.answer`` (``sdp``).
* both: ``heartbeat``, ``end`` (``reason``).

:func:`parse` validates bytes from the outside and raises :class:`EnvelopeError` with a short
``reason``; :func:`encode` is its inverse. Pure: no clock, no I/O.

Personal data: the ``value`` of ``intent.field`` may be personal (the assistant types it
into a write-only field). Never log envelopes, only their ``type`` and ``seq``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

VERSION = "rh/1"
MAX_BYTES = 16 * 1024
SID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,80}")
MAX_INT = 2**53 - 1  # exact in JavaScript numbers

KIOSK_TYPES = frozenset(
    {
        "snapshot",
        "patch",
        "intent.result",
        "consent.granted",
        "consent.denied",
        "consent.revoked",
        "control.state",
        "citizen.stop",
        "resume.ok",
        "media.offer",
        "document.result",
    }
)
ASSISTANT_TYPES = frozenset(
    {
        "hello",
        "intent.field",
        "intent.navigate",
        "intent.document",
        "consent.request",
        "control.release",
        "resync",
        "media.answer",
    }
)
COMMON_TYPES = frozenset({"heartbeat", "end"})
TYPES = KIOSK_TYPES | ASSISTANT_TYPES | COMMON_TYPES
INTENTS = frozenset({"intent.field", "intent.navigate", "intent.document"})

Sender = Literal["kiosk", "assistant"]


class EnvelopeError(ValueError):
    """Bytes that are not a valid ``rh/1`` envelope; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Envelope:
    sid: str
    sender: Sender
    seq: int
    id: str
    type: str
    body: dict[str, Any] = field(default_factory=dict)
    rev: int | None = None
    base_rev: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": VERSION,
            "sid": self.sid,
            "from": self.sender,
            "seq": self.seq,
            "id": self.id,
            "type": self.type,
            "body": self.body,
        }
        if self.rev is not None:
            out["rev"] = self.rev
        if self.base_rev is not None:
            out["base_rev"] = self.base_rev
        return out


def encode(env: Envelope) -> str:
    text = json.dumps(env.to_json(), ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > MAX_BYTES:
        raise EnvelopeError("too_large", f"{env.type} message over {MAX_BYTES} bytes")
    return text


def _int(obj: dict[str, Any], key: str, *, required: bool) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise EnvelopeError("missing", key)
        return None
    if type(value) is not int or not 0 <= value <= MAX_INT:
        raise EnvelopeError("bad_field", key)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: browsers' JSON.parse refuses them


def parse(data: str | bytes) -> Envelope:
    """One envelope from outside bytes; :class:`EnvelopeError` on anything malformed."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise EnvelopeError("too_large", f"{len(raw)} bytes")
    try:
        obj = json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise EnvelopeError("not_json") from err
    if not isinstance(obj, dict):
        raise EnvelopeError("not_object")
    if obj.get("v") != VERSION:
        raise EnvelopeError("version", "expected rh/1")
    sid, sender, mid, mtype = obj.get("sid"), obj.get("from"), obj.get("id"), obj.get("type")
    if not isinstance(sid, str) or not SID_RE.fullmatch(sid):
        raise EnvelopeError("bad_field", "sid")
    if sender not in ("kiosk", "assistant"):
        raise EnvelopeError("bad_field", "from")
    if not isinstance(mid, str) or not ID_RE.fullmatch(mid):
        raise EnvelopeError("bad_field", "id")
    if not isinstance(mtype, str) or mtype not in TYPES:
        raise EnvelopeError("unknown_type")
    allowed = (KIOSK_TYPES if sender == "kiosk" else ASSISTANT_TYPES) | COMMON_TYPES
    if mtype not in allowed:
        raise EnvelopeError("wrong_sender", mtype)
    body = obj.get("body", {})
    if not isinstance(body, dict):
        raise EnvelopeError("bad_field", "body")
    seq = _int(obj, "seq", required=True)
    assert seq is not None
    if seq < 1:
        raise EnvelopeError("bad_field", "seq")
    return Envelope(
        sid=sid,
        sender=sender,
        seq=seq,
        id=mid,
        type=mtype,
        body=body,
        rev=_int(obj, "rev", required=False),
        base_rev=_int(obj, "base_rev", required=mtype in INTENTS),
    )
