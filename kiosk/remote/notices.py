"""Events the remote-help machinery posts to the kiosk app (through the runtime's ``post``).

The app draws the always-on-top banner "工作人员正在协助您" with its stop button from
:class:`AssistStatus` (shown while ``phase`` is ``connected``), the consent dialog from
:class:`ConsentRequested` (answered by ``Runtime``-side calls ``grant`` / ``deny``: the dialog
can only be drawn by the kiosk, never triggered into acting remotely), and a "the assistant
offers you a document" prompt from :class:`DocumentOffered`. Once the kiosk has fetched the
document from the platform and checked its SHA-256 against the offer, it posts
:class:`DocumentReceived` (the verified bytes, for the citizen to view or print) or
:class:`DocumentRefused` (why not; the assistant is told and it is audited). Frozen; only
a received document's bytes may hold personal data (never in ``repr``, never logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AssistStatus:
    """``phase``: waiting | connected | ended; ``holder``: citizen | assistant;
    ``scopes``: granted consent scopes (fill, navigate, document); ``link_ok``: heartbeats
    arrive; ``rev``: the kiosk's state revision."""

    sid: str
    phase: str
    holder: str
    scopes: frozenset[str]
    link_ok: bool
    rev: int


@dataclass(frozen=True, slots=True)
class ConsentRequested:
    sid: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class DocumentOffered:
    sid: str
    doc_id: str
    sha256: str
    title: str


@dataclass(frozen=True, slots=True)
class DocumentReceived:
    """The offered document, fetched and verified: ``data`` hashes to the offer's sha256.
    ``content_type``: application/pdf, image/png or image/jpeg."""

    sid: str
    doc_id: str
    title: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class DocumentRefused:
    """The offered document was not handed over. ``reason``: hash_mismatch (the bytes are
    not the ones offered), too_large, bad_type, not_found, offline, failed."""

    sid: str
    doc_id: str
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class FieldFilledByAssistant:
    """For the end-of-help summary "what the assistant changed" (field id only)."""

    sid: str
    field_id: str


@dataclass(frozen=True, slots=True)
class CallbackOffered:
    """Nobody has been free for a while: offer the citizen a call-back (稍后回拨)."""

    sid: str
