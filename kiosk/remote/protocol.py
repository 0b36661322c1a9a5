"""The kiosk side of the ``rh/1`` control protocol: a pure state machine (no clock, no I/O).

The kiosk is the source of truth. It numbers its state with ``rev`` (bumped when the masked
step snapshot or the consent/control state changes); every assistant intent names the
``base_rev`` it was based on and is refused as ``stale`` when the kiosk has moved on.
Envelopes are described in :mod:`kiosk.remote.envelope`, snapshots in
:mod:`kiosk.remote.masking`.

Inputs (all on one thread — the runtime's remote-help thread — with ``now`` in seconds):
:meth:`KioskProtocol.assistant_joined`, :meth:`~KioskProtocol.view_changed`,
:meth:`~KioskProtocol.receive` (outside bytes), the citizen's :meth:`~KioskProtocol.grant`,
:meth:`~KioskProtocol.deny`, :meth:`~KioskProtocol.revoke`, :meth:`~KioskProtocol.stop`,
:meth:`~KioskProtocol.end`, :meth:`~KioskProtocol.tick`, and
:meth:`~KioskProtocol.document_fetched` (the transport fetched an offered document; the hash
check is here). Each returns a list of outputs:

* :class:`Send` — an envelope for the transport (data channel or WebSocket);
* :class:`Deliver` — a flow event for the engine (``Input``/``Press`` the assistant made,
  ``AssistantJoined`` / ``AssistantLeft`` answering the ``CallAssistant`` effect);
* a notice of :mod:`kiosk.remote.notices` for the app.

Rules:

* **Phases**: ``waiting`` → ``connected`` → ``ended`` (final). Intents outside ``connected``
  are rejected (``not_connected`` / ``ended``).
* **Consent** is per scope (``fill``, ``navigate``, ``document``), requested by the assistant,
  granted or denied only by the citizen on the kiosk. A grant hands control to the assistant
  (``holder`` = assistant); ``control.release`` (assistant), :meth:`revoke` or :meth:`stop`
  (citizen) hand it back. Stop revokes every scope and the pending request at once.
* **Intents** are applied at most once: the result of each intent ``id`` is remembered and a
  repeated id gets the same ``intent.result`` again without being applied. Messages whose
  ``seq`` is not above the last one seen from the assistant are dropped (duplicates on the
  WebSocket fallback or after a replay); ``hello`` starts a new numbering (a reloaded
  console restarts at 1).
* **代填不代签**: the assistant may fill editable fields and press only
  :data:`~kiosk.remote.masking.NAV_ACTIONS` outside the citizen-only steps; consent,
  commitment, confirm/submit and payment stay with the citizen. Masked fields are write-only.
* **Heartbeat**: a ``heartbeat`` every ``heartbeat_s``; when nothing arrives for
  ``peer_timeout_s`` the link counts as lost and control goes back to the citizen.
* **Resume**: ``hello`` with ``last_seq`` > 0 replays the kiosk's messages after it when they
  are still buffered (the last :data:`REPLAY_BUFFER`), else — and for ``last_seq`` 0, a
  console new to the session — sends a fresh ``snapshot`` and ``control.state``.
* **Transfer**: consent belongs to one assistant; :meth:`KioskProtocol.assistant_changed`
  ends every scope before the next assistant joins.

Every decision is written to the :class:`~kiosk.remote.audit.AuditChain` given (ids, scopes,
field ids and results — never values).
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from flows import events as ev
from flows.views import StepView
from kiosk.remote import masking
from kiosk.remote.envelope import Envelope, EnvelopeError, encode, parse
from kiosk.remote.notices import (
    AssistStatus,
    ConsentRequested,
    DocumentOffered,
    DocumentReceived,
    DocumentRefused,
    FieldFilledByAssistant,
)

SCOPES = frozenset({"fill", "navigate", "document"})
SCOPE_OF = {"intent.field": "fill", "intent.navigate": "navigate", "intent.document": "document"}
REPLAY_BUFFER = 64
MAX_VALUE_LEN = 256
DOC_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
#: What a pushed document may be (the app shows or prints it).
DOCUMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


class AuditSink(Protocol):
    def append(
        self, *, ts: float, sid: str, actor: str, event: str, data: dict[str, Any]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Send:
    envelope: Envelope

    @property
    def text(self) -> str:
        return encode(self.envelope)


@dataclass(frozen=True, slots=True)
class Deliver:
    event: ev.Event


@dataclass(frozen=True, slots=True)
class MediaAnswer:
    """The console answered the kiosk's WebRTC offer: hand ``sdp`` to the media session."""

    sdp: str


Output = (
    Send
    | Deliver
    | MediaAnswer
    | AssistStatus
    | ConsentRequested
    | DocumentOffered
    | DocumentReceived
    | DocumentRefused
    | FieldFilledByAssistant
)


class KioskProtocol:
    def __init__(
        self,
        sid: str,
        allow: masking.AllowList,
        audit: AuditSink,
        *,
        request_id: int | None = None,
        heartbeat_s: float = 5.0,
        peer_timeout_s: float = 15.0,
    ) -> None:
        self.sid = sid
        self.allow = allow
        self.audit = audit
        self.request_id = request_id
        self.heartbeat_s = heartbeat_s
        self.peer_timeout_s = peer_timeout_s
        self.phase = "waiting"
        self.holder = "citizen"
        self.scopes: frozenset[str] = frozenset()
        self.pending_consent: frozenset[str] = frozenset()
        self.rev = 0
        self.link_ok = False
        self._seq = 0
        self._peer_seq = 0
        self._sent: deque[Envelope] = deque(maxlen=REPLAY_BUFFER)
        self._results: dict[str, tuple[str, str]] = {}
        self._view: StepView | None = None
        self._snap: masking.Snapshot | None = None
        self._last_sent = 0.0
        self._last_heard = 0.0

    # ------------------------------------------------------------------ helpers

    def _log(self, now: float, actor: str, event: str, **data: Any) -> None:
        self.audit.append(ts=now, sid=self.sid, actor=actor, event=event, data=data)

    def _send(self, now: float, mtype: str, body: dict[str, Any]) -> Send:
        self._seq += 1
        env = Envelope(
            sid=self.sid,
            sender="kiosk",
            seq=self._seq,
            id=f"k-{self._seq}",
            type=mtype,
            body=body,
            rev=self.rev,
        )
        self._sent.append(env)
        self._last_sent = now
        return Send(env)

    def status(self) -> AssistStatus:
        return AssistStatus(self.sid, self.phase, self.holder, self.scopes, self.link_ok, self.rev)

    def _control_changed(self, now: float, reason: str) -> list[Output]:
        self.rev += 1
        self._log(now, "kiosk", "control.state", holder=self.holder, scopes=sorted(self.scopes))
        body = {"holder": self.holder, "scopes": sorted(self.scopes), "reason": reason}
        return [self._send(now, "control.state", body), self.status()]

    def _full_snapshot(self, now: float) -> list[Output]:
        if self._snap is None:
            return []
        return [self._send(now, "snapshot", self._snap)]

    # ------------------------------------------------------------------ local inputs

    def assistant_joined(self, now: float) -> list[Output]:
        """The platform says an assistant accepted the request (the call is up)."""
        if self.phase != "waiting":
            return []
        self.phase, self.link_ok = "connected", True
        self._last_heard = now
        self._log(now, "platform", "session.assigned")
        out: list[Output] = [Deliver(ev.AssistantJoined(request_id=self.request_id))]
        out += self._full_snapshot(now)
        out.append(self.status())
        return out

    def view_changed(self, view: StepView, now: float) -> list[Output]:
        """The flow showed a new view: send a patch (or a snapshot on a new step)."""
        self._view = view
        snap = masking.snapshot(view, self.allow)
        old, self._snap = self._snap, snap
        if old == snap:
            return []
        self.rev += 1
        if self.phase != "connected":
            return []
        if old is None or old.get("step_id") != snap["step_id"]:
            return [self._send(now, "snapshot", snap)]
        return [self._send(now, "patch", masking.diff(old, snap))]

    def media_offer(self, sdp: str, now: float) -> list[Output]:
        """Send the kiosk's WebRTC offer (video starts only while connected)."""
        if self.phase != "connected":
            return []
        self._log(now, "kiosk", "media.offer")
        return [self._send(now, "media.offer", {"sdp": sdp})]

    def assistant_changed(self, now: float) -> list[Output]:
        """The session is being transferred: consent was given to the previous assistant,
        so every scope and any pending request end here (the next one asks again)."""
        if self.phase != "connected":
            return []
        had = self.scopes or self.pending_consent or self.holder != "citizen"
        self.scopes, self.pending_consent, self.holder = frozenset(), frozenset(), "citizen"
        self._log(now, "platform", "session.transferred")
        return self._control_changed(now, "transfer") if had else [self.status()]

    def grant(self, scopes: Iterable[str], now: float) -> list[Output]:
        """The citizen agreed on the kiosk (only scopes that were asked for count)."""
        granted = frozenset(scopes) & self.pending_consent
        if self.phase != "connected" or not granted:
            return []
        self.pending_consent -= granted
        self.scopes |= granted
        self.holder = "assistant"
        self._log(now, "citizen", "consent.granted", scopes=sorted(granted))
        out: list[Output] = [self._send(now, "consent.granted", {"scopes": sorted(granted)})]
        return out + self._control_changed(now, "granted")

    def deny(self, now: float) -> list[Output]:
        if self.phase != "connected" or not self.pending_consent:
            return []
        denied, self.pending_consent = self.pending_consent, frozenset()
        self._log(now, "citizen", "consent.denied", scopes=sorted(denied))
        return [self._send(now, "consent.denied", {"scopes": sorted(denied)})]

    def revoke(self, scopes: Iterable[str], now: float) -> list[Output]:
        gone = frozenset(scopes) & self.scopes
        if not gone:
            return []
        self.scopes -= gone
        if not self.scopes:
            self.holder = "citizen"
        self._log(now, "citizen", "consent.revoked", scopes=sorted(gone))
        out: list[Output] = [self._send(now, "consent.revoked", {"scopes": sorted(gone)})]
        return out + self._control_changed(now, "revoked")

    def stop(self, now: float) -> list[Output]:
        """The banner's stop button: every scope and the pending request at once."""
        if self.phase != "connected":
            return []
        gone = self.scopes
        self.scopes, self.pending_consent, self.holder = frozenset(), frozenset(), "citizen"
        self._log(now, "citizen", "citizen.stop", scopes=sorted(gone))
        out: list[Output] = [
            self._send(now, "consent.revoked", {"scopes": sorted(SCOPES)}),
            self._send(now, "citizen.stop", {}),
        ]
        return out + self._control_changed(now, "stop")

    def end(self, reason: str, now: float, *, actor: str = "citizen") -> list[Output]:
        if self.phase == "ended":
            return []
        was_connected = self.phase == "connected"
        self.phase, self.holder, self.link_ok = "ended", "citizen", False
        self.scopes = self.pending_consent = frozenset()
        self._log(now, actor, "end", reason=reason)
        out: list[Output] = []
        if actor != "assistant":
            out.append(self._send(now, "end", {"reason": reason}))
        if was_connected:
            out.append(Deliver(ev.AssistantLeft(request_id=self.request_id)))
        else:
            out.append(
                Deliver(
                    ev.EffectFailed(
                        request_id=self.request_id, effect="call_assistant", reason=reason
                    )
                )
            )
        out.append(self.status())
        return out

    def document_fetched(
        self,
        offer: DocumentOffered,
        now: float,
        *,
        data: bytes | None = None,
        content_type: str = "",
        failure: str | None = None,
    ) -> list[Output]:
        """The kiosk fetched (or failed to fetch: ``failure``) an offered document. Only
        bytes whose SHA-256 is the offer's reach the app; either way the assistant gets a
        ``document.result`` and the audit chain a record (doc id, size or reason)."""
        reason = failure
        if reason is None:
            if data is None:
                reason = "failed"
            elif hashlib.sha256(data).hexdigest() != offer.sha256:
                reason = "hash_mismatch"
            elif content_type not in DOCUMENT_TYPES:
                reason = "bad_type"
        if self.phase == "ended":  # the citizen may have left: nothing is shown any more
            self._log(now, "kiosk", "document.refused", doc_id=offer.doc_id, reason="ended")
            return []
        if reason is not None or data is None:
            reason = reason or "failed"
            self._log(now, "kiosk", "document.refused", doc_id=offer.doc_id, reason=reason)
            body = {"doc_id": offer.doc_id, "result": "refused", "reason": reason}
            return [
                self._send(now, "document.result", body),
                DocumentRefused(self.sid, offer.doc_id, offer.title, reason),
            ]
        self._log(now, "kiosk", "document.delivered", doc_id=offer.doc_id, size=len(data))
        body = {"doc_id": offer.doc_id, "result": "delivered", "reason": ""}
        return [
            self._send(now, "document.result", body),
            DocumentReceived(self.sid, offer.doc_id, offer.title, content_type, data),
        ]

    def tick(self, now: float) -> list[Output]:
        if self.phase != "connected":
            return []
        out: list[Output] = []
        if now - self._last_sent >= self.heartbeat_s:
            out.append(self._send(now, "heartbeat", {}))
        if self.link_ok and now - self._last_heard > self.peer_timeout_s:
            self.link_ok = False
            self._log(now, "kiosk", "link.lost")
            if self.scopes or self.holder != "citizen":
                self.scopes, self.pending_consent, self.holder = frozenset(), frozenset(), "citizen"
                out += self._control_changed(now, "link_lost")
            else:
                out.append(self.status())
        return out

    # ------------------------------------------------------------------ from the assistant

    def receive(self, data: str | bytes, now: float) -> list[Output]:
        """One message from the assistant. Malformed input raises :class:`EnvelopeError`
        (the transport counts and drops it)."""
        env = parse(data)
        if env.sid != self.sid or env.sender != "assistant":
            raise EnvelopeError("wrong_session")
        if self.phase == "ended":
            return self._reject(env, "ended", now) if env.type in SCOPE_OF else []
        out: list[Output] = []
        self._last_heard = now
        if not self.link_ok and self.phase == "connected":
            self.link_ok = True
            self._log(now, "kiosk", "link.ok")
            out.append(self.status())
        if env.type == "hello":
            self._peer_seq = env.seq
            return out + self._resume(env, now)
        if env.id in self._results:  # a repeated intent: same answer, not applied again
            self._log(now, "kiosk", "duplicate", ref=env.id)
            ref_result, reason = self._results[env.id]
            return [*out, self._result(env.id, ref_result, reason, now)]
        if env.seq <= self._peer_seq:
            return out
        self._peer_seq = env.seq
        handlers: dict[str, Callable[[Envelope, float], list[Output]]] = {
            "intent.field": self._intent_field,
            "intent.navigate": self._intent_navigate,
            "intent.document": self._intent_document,
            "consent.request": self._consent_request,
            "control.release": self._control_release,
            "resync": self._resync,
            "media.answer": self._media_answer,
            "heartbeat": self._heartbeat,
            "end": self._peer_end,
        }
        return out + handlers[env.type](env, now)

    def _media_answer(self, env: Envelope, now: float) -> list[Output]:
        sdp = env.body.get("sdp")
        if self.phase != "connected" or not isinstance(sdp, str):
            return []
        self._log(now, "assistant", "media.answer")
        return [MediaAnswer(sdp)]

    def _resync(self, env: Envelope, now: float) -> list[Output]:
        return self._full_snapshot(now)

    def _heartbeat(self, env: Envelope, now: float) -> list[Output]:
        return []

    def _peer_end(self, env: Envelope, now: float) -> list[Output]:
        return self.end(str(env.body.get("reason", "assistant"))[:40], now, actor="assistant")

    def _resume(self, env: Envelope, now: float) -> list[Output]:
        last = env.body.get("last_seq")
        self._log(now, "assistant", "hello")
        buffered = [e for e in self._sent if isinstance(last, int) and e.seq > last]
        # last_seq 0: a console that has seen nothing of this session (a new one after a
        # transfer) gets the present state, not another console's history
        complete = (
            isinstance(last, int)
            and 0 < last <= self._seq
            and (last == self._seq or (buffered and buffered[0].seq == last + 1))
        )
        if complete:
            out: list[Output] = [self._send(now, "resume.ok", {"mode": "replay"})]
            out = [Send(e) for e in buffered] + out
            return out
        return [
            self._send(now, "resume.ok", {"mode": "snapshot"}),
            *self._full_snapshot(now),
            self._send(
                now,
                "control.state",
                {"holder": self.holder, "scopes": sorted(self.scopes), "reason": "resume"},
            ),
        ]

    def _result(self, ref: str, result: str, reason: str, now: float) -> Send:
        return self._send(now, "intent.result", {"ref": ref, "result": result, "reason": reason})

    def _reject(self, env: Envelope, reason: str, now: float) -> list[Output]:
        self._results[env.id] = ("rejected", reason)
        self._log(
            now,
            "kiosk",
            "intent.rejected",
            intent=env.id,
            type=env.type,
            result="rejected",
            reason=reason,
        )
        return [self._result(env.id, "rejected", reason, now)]

    def _check(self, env: Envelope) -> str | None:
        """Why an intent cannot be applied, or None."""
        if self.phase != "connected":
            return "not_connected"
        if SCOPE_OF[env.type] not in self.scopes:
            return "no_consent"
        if env.base_rev != self.rev:
            return "stale"
        if self._view is None or self._view.busy:
            return "busy"
        return None

    def _applied(self, env: Envelope, now: float, **data: Any) -> Send:
        self._results[env.id] = ("applied", "")
        self._log(
            now, "kiosk", "intent.applied", intent=env.id, type=env.type, result="applied", **data
        )
        return self._result(env.id, "applied", "", now)

    def _intent_field(self, env: Envelope, now: float) -> list[Output]:
        reason = self._check(env)
        if reason:
            return self._reject(env, reason, now)
        assert self._view is not None
        fid, value = env.body.get("field"), env.body.get("value")
        field = next((f for f in self._view.fields if f.id == fid), None)
        if field is None:
            return self._reject(env, "unknown_field", now)
        if self._view.step_type in masking.CITIZEN_ONLY_STEPS or not field.editable:
            return self._reject(env, "citizen_only", now)
        if not isinstance(value, str) or len(value) > MAX_VALUE_LEN:
            return self._reject(env, "bad_value", now)
        return [
            Deliver(ev.Input(field=field.id, value=value)),
            FieldFilledByAssistant(self.sid, field.id),
            self._applied(env, now, field=field.id),
        ]

    def _intent_navigate(self, env: Envelope, now: float) -> list[Output]:
        reason = self._check(env)
        if reason:
            return self._reject(env, reason, now)
        assert self._view is not None
        action = env.body.get("action")
        if not isinstance(action, str) or not masking.may_press(self._view, action):
            return self._reject(env, "citizen_only", now)
        return [Deliver(ev.Press(action=action)), self._applied(env, now, action=action)]

    def _intent_document(self, env: Envelope, now: float) -> list[Output]:
        reason = self._check(env)
        if reason:
            return self._reject(env, reason, now)
        doc_id, digest, title = (env.body.get(k) for k in ("doc_id", "sha256", "title"))
        if (
            not isinstance(doc_id, str)
            or not DOC_ID_RE.fullmatch(doc_id)
            or not isinstance(digest, str)
            or not SHA256_RE.fullmatch(digest)
            or not isinstance(title, str)
            or not 0 < len(title) <= 80
        ):
            return self._reject(env, "bad_document", now)
        return [
            DocumentOffered(self.sid, doc_id, digest, title),
            self._applied(env, now, doc_id=doc_id),
        ]

    def _consent_request(self, env: Envelope, now: float) -> list[Output]:
        raw = env.body.get("scopes")
        if self.phase != "connected" or not isinstance(raw, list):
            return []
        asked = frozenset(s for s in raw if isinstance(s, str) and s in SCOPES) - self.scopes
        if not asked:
            return []
        self.pending_consent = asked
        self._log(now, "assistant", "consent.requested", scopes=sorted(asked))
        return [ConsentRequested(self.sid, asked)]

    def _control_release(self, env: Envelope, now: float) -> list[Output]:
        if not self.scopes and self.holder == "citizen":
            return []
        self.scopes, self.holder = frozenset(), "citizen"
        self._log(now, "assistant", "control.release")
        return self._control_changed(now, "released")
