"""Append-only, hash-chained audit log of a help session (kept on the kiosk and on the console
side; :func:`reconcile` compares the two).

Record format (one JSON object; a file holds one per line, UTF-8)::

    {"i": 0,                     position in the chain, from 0
     "ts": 1764370000.25,        seconds (the writer's clock, given by the caller)
     "sid": "s-…",               help session id
     "actor": "kiosk" | "assistant" | "citizen" | "platform",
     "event": "intent.applied",  what happened (consent.granted, control.state, end …)
     "data": {…},                ids, scopes, field *ids*, results — never personal values
     "prev": "<hex>",            hash of the previous record ("0"*64 for the first)
     "hash": "<hex>"}            SHA-256 of the canonical JSON of the record without "hash"

Canonical JSON: keys sorted, separators ``,`` and ``:``, UTF-8, no ASCII escaping. Editing,
dropping or reordering any record breaks :func:`verify` at that record. Personal data: none
is written (field edits record the field id and intent id, not the value; a hash of an ID
number would be brute-forced in seconds).

:class:`AuditChain` is pure (in memory); :class:`AuditFile` appends each record to a file
with ``fsync`` and reloads/verifies it. Not thread-safe: one writer (the remote-help thread).

Upload: :func:`upload_batches` turns a chain into bodies of the platform's
``POST /api/v1/audit-events`` (``{"events": [{"type": "remote_help.audit", "at",
"session_id", "data": <record>}]}``, at most :data:`BATCH_MAX` a batch, in chain order), so
the platform holds the whole records and can verify the chain and :func:`reconcile` it with
the console's. The kiosk puts them in its durable outbox (kind ``audit``) at session end
(:func:`queue_chain`), then writes the marker ``<sid>.queued`` next to ``<sid>.jsonl``. Every
event's ``at`` is the chain file's last write (:func:`file_time`), not the upload's clock, so
handing one chain over twice builds the same batches under the same idempotency keys
(``rh-audit-<sid>-<n>``): the outbox returns the item it has, and the platform answers a
repeat with what it stored (it refuses the same key with another body).

Leftover chains (:func:`recover_leftovers`, called at kiosk start): a ``<sid>.jsonl`` without
its marker belongs to a session the kiosk did not finish (killed, crashed, power cut). Its
records are read up to the first that does not verify (:func:`scan`), and that verified prefix
is queued exactly as at session end. What a break means, and what is done with it:

* a torn last line (the file does not end in a newline): the crash came in the middle of an
  append; the record was never complete, so it is not part of the chain;
* any other break (a record edited, dropped or reordered, a line of garbage): the records
  from the break on cannot be trusted or linked, so they are not uploaded (the platform's
  copy must verify); the file stays on disk as the evidence, and the warning is logged;
* either way, and also when the chain has no ``end`` record, the platform gets one more
  event in its own batch (key ``rh-audit-<sid>-recovery``): ``{"type":
  "remote_help.audit_recovery", "data": {"records", "lines", "ended", "torn", "break":
  {"index", "reason"} | null}}``, so it knows the chain it holds stops early and why. A
  chain that is whole and ended (the kiosk died after the session ended but before queueing
  it) is queued with no such event, exactly as the session end would have.

Run it before any help session starts: a live session's file has no marker yet either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.logs import Safe
from offline.errors import OutboxError

if TYPE_CHECKING:
    from offline.outbox import Outbox

log = logging.getLogger(__name__)

GENESIS = "0" * 64
#: Events in one ``/api/v1/audit-events`` batch at most (the platform's limit).
BATCH_MAX = 1000
UPLOAD_TYPE = "remote_help.audit"
#: The event that tells the platform a chain was recovered after a crash (module docstring).
RECOVERY_TYPE = "remote_help.audit_recovery"
#: Written next to ``<sid>.jsonl`` once the chain is in the outbox.
QUEUED_SUFFIX = ".queued"
#: Session ids that make valid outbox idempotency keys (the platform's are ``rh-<hex>``).
_SID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class AuditChainError(ValueError):
    """The chain is broken at record ``index``."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"audit chain broken at record {index}: {reason}")
        self.index, self.reason = index, reason


def canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


class AuditChain:
    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._records: list[dict[str, Any]] = [dict(r) for r in records]
        verify(self._records)

    @property
    def records(self) -> Sequence[Mapping[str, Any]]:
        return tuple(self._records)

    @property
    def head(self) -> str:
        return str(self._records[-1]["hash"]) if self._records else GENESIS

    def append(
        self, *, ts: float, sid: str, actor: str, event: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "i": len(self._records),
            "ts": ts,
            "sid": sid,
            "actor": actor,
            "event": event,
            "data": dict(data),
            "prev": self.head,
        }
        record["hash"] = record_hash(record)
        self._records.append(record)
        return record


def verify(records: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`AuditChainError` at the first record that breaks the chain."""
    prev = GENESIS
    for index, r in enumerate(records):
        if r.get("i") != index:
            raise AuditChainError(index, "position")
        if r.get("prev") != prev:
            raise AuditChainError(index, "prev")
        if r.get("hash") != record_hash(r):
            raise AuditChainError(index, "hash")
        prev = str(r["hash"])


class AuditFile:
    """An :class:`AuditChain` mirrored to a JSON-lines file (appended, fsynced)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.chain = AuditChain(load(path) if path.exists() else ())

    def append(
        self, *, ts: float, sid: str, actor: str, event: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        record = self.chain.append(ts=ts, sid=sid, actor=actor, event=event, data=data)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, canonical(record) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return record


def load(path: Path) -> list[dict[str, Any]]:
    """Records of a file, verified; :class:`AuditChainError` if a line is not a record."""
    records: list[dict[str, Any]] = []
    for index, line in enumerate(path.read_bytes().splitlines()):
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise AuditChainError(index, "not_json") from err
        if not isinstance(obj, dict):
            raise AuditChainError(index, "not_object")
        records.append(obj)
    verify(records)
    return records


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Intent ids seen by only one side, and ids whose outcome the two sides disagree on."""

    only_console: tuple[str, ...]
    only_kiosk: tuple[str, ...]
    disagree: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.only_console or self.only_kiosk or self.disagree)


def _outcomes(records: Iterable[Mapping[str, Any]], event_prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in records:
        data = r.get("data", {})
        if str(r.get("event", "")).startswith(event_prefix) and isinstance(data, dict):
            ref = data.get("intent")
            if isinstance(ref, str):
                out[ref] = str(data.get("result", ""))
    return out


def reconcile(
    kiosk: Sequence[Mapping[str, Any]], console: Sequence[Mapping[str, Any]]
) -> Reconciliation:
    """Compare intents: the console logs ``intent.sent`` then ``intent.outcome`` (with the
    result the kiosk answered); the kiosk logs ``intent.applied`` / ``intent.rejected``.
    Both chains are verified first."""
    verify(kiosk)
    verify(console)
    k = _outcomes(kiosk, "intent.")
    sent = {
        str(r["data"]["intent"])
        for r in console
        if r.get("event") == "intent.sent" and isinstance(r.get("data"), dict)
    }
    c = _outcomes((r for r in console if r.get("event") == "intent.outcome"), "intent.")
    return Reconciliation(
        only_console=tuple(sorted(sent - k.keys())),
        only_kiosk=tuple(sorted(k.keys() - sent)),
        disagree=tuple(sorted(i for i in c.keys() & k.keys() if c[i] != k[i])),
    )


def upload_batches(
    records: Sequence[Mapping[str, Any]], at: str, *, batch_max: int = BATCH_MAX
) -> list[dict[str, Any]]:
    """Bodies for ``POST /api/v1/audit-events``: one event per record, in chain order, the
    record whole in ``data``; ``at`` is a wall-clock time, ISO 8601 (the kiosk gives the
    chain file's last write, :func:`file_time`; a record's own ``ts`` is the writer's clock,
    not necessarily wall time)."""
    events = [
        {"type": UPLOAD_TYPE, "at": at, "session_id": str(r["sid"]), "data": dict(r)}
        for r in records
    ]
    return [{"events": events[i : i + batch_max]} for i in range(0, len(events), batch_max)]


def file_time(path: Path) -> str:
    """The file's last write, ISO 8601 UTC: the ``at`` of the chain's upload events (the
    same on every hand-over; the file is only appended to, and not after the session)."""
    return datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, UTC).isoformat()


def queue_chain(
    outbox: Outbox,
    sid: str,
    records: Sequence[Mapping[str, Any]],
    at: str,
    *,
    notice: Mapping[str, Any] | None = None,
) -> list[int]:
    """Put a chain in the outbox (kind ``audit``, one item per batch, keys
    ``rh-audit-<sid>-<n>``; a recovery ``notice`` last, key ``rh-audit-<sid>-recovery``).
    Returns the item ids; a repeat with the same records and ``at`` returns the same ids.
    Raises :class:`~offline.errors.OutboxError`."""
    ids = [
        outbox.enqueue("audit", sid, batch, idempotency_key=f"rh-audit-{sid}-{n}")
        for n, batch in enumerate(upload_batches(records, at))
    ]
    if notice is not None:
        event = {"type": RECOVERY_TYPE, "at": at, "session_id": sid, "data": dict(notice)}
        key = f"rh-audit-{sid}-recovery"
        ids.append(outbox.enqueue("audit", sid, {"events": [event]}, idempotency_key=key))
    return ids


def mark_queued(path: Path, summary: Mapping[str, Any]) -> None:
    """Write ``<sid>.queued`` (what was queued) so the chain is not handed over again.
    Fsynced; if a power cut still loses it, the next start hands the chain over again and
    the idempotency keys make that a repeat."""
    marker = path.with_suffix(QUEUED_SUFFIX)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, canonical(summary) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Scan:
    """A chain file read up to its first bad record: ``records`` is the verified prefix,
    ``lines`` the file's line count (a torn last line included), ``broken`` the first
    break (``None``: every line verifies), ``torn``: the file does not end in a newline."""

    records: tuple[dict[str, Any], ...]
    lines: int
    broken: AuditChainError | None
    torn: bool

    @property
    def crash_tail(self) -> bool:
        """The only break is a torn last line: a crash in the middle of an append."""
        broken = self.broken
        return self.torn and broken is not None and broken.index == self.lines - 1

    @property
    def ended(self) -> bool:
        return any(r.get("event") == "end" for r in self.records)

    def summary(self) -> dict[str, Any]:
        """Non-personal facts about the chain (ids, counts, reason codes)."""
        broken = self.broken
        return {
            "records": len(self.records),
            "lines": self.lines,
            "ended": self.ended,
            "torn": self.torn,
            "break": None if broken is None else {"index": broken.index, "reason": broken.reason},
        }


def scan(path: Path) -> Scan:
    """Read a chain file, keeping the records before the first that breaks the chain."""
    raw = path.read_bytes()
    torn = bool(raw) and not raw.endswith(b"\n")
    lines = raw.split(b"\n")
    if not torn:
        lines.pop()  # the empty piece after the last newline
    records: list[dict[str, Any]] = []
    broken: AuditChainError | None = None
    for index, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            broken = AuditChainError(index, "not_json")
            break
        if not isinstance(obj, dict):
            broken = AuditChainError(index, "not_object")
            break
        try:
            if records:
                _verify_next(records[-1], obj)
            else:
                verify([obj])
        except AuditChainError as err:
            broken = AuditChainError(index, err.reason)
            break
        records.append(obj)
    return Scan(tuple(records), len(lines), broken, torn)


def _verify_next(prev: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """``record`` follows ``prev`` in a chain (raises :class:`AuditChainError`)."""
    index = int(prev["i"]) + 1
    if record.get("i") != index:
        raise AuditChainError(index, "position")
    if record.get("prev") != prev["hash"]:
        raise AuditChainError(index, "prev")
    if record.get("hash") != record_hash(record):
        raise AuditChainError(index, "hash")


@dataclass(frozen=True, slots=True)
class Recovered:
    """One leftover chain handed to the outbox: its session id and :meth:`Scan.summary`."""

    sid: str
    summary: Mapping[str, Any]


def recover_leftovers(audit_dir: Path, outbox: Outbox) -> list[Recovered]:
    """Queue every chain under ``audit_dir`` that has no ``.queued`` marker (see the module
    docstring), then mark it. A file that cannot be read or queued is logged and left for
    the next start. Call it before any help session starts."""
    try:
        paths = sorted(audit_dir.glob("*.jsonl")) if audit_dir.is_dir() else []
    except OSError as err:
        log.warning("help audit dir unreadable", extra={"error": Safe(type(err).__name__)})
        return []
    recovered: list[Recovered] = []
    for path in paths:
        sid = path.stem
        if path.with_suffix(QUEUED_SUFFIX).exists():
            continue
        if not _SID_RE.fullmatch(sid):
            log.warning("help audit file with an odd name skipped", extra={"sid": Safe(sid[:40])})
            continue
        try:
            found = scan(path)
            summary = found.summary()
            notice = None if found.broken is None and found.ended else summary
            queue_chain(outbox, sid, found.records, file_time(path), notice=notice)
            mark_queued(path, {**summary, "by": "recovery"})
        except (OSError, OutboxError) as err:
            log.warning(
                "leftover help audit not queued",
                extra={"sid": Safe(sid), "error": Safe(type(err).__name__)},
            )
            continue
        extra: dict[str, Any] = {"sid": Safe(sid), "records": len(found.records)}
        if found.broken is not None and not found.crash_tail:
            extra["reason"] = Safe(found.broken.reason)
            log.warning("leftover help audit chain broken; verified part queued", extra=extra)
        else:
            log.info("leftover help audit chain queued", extra=extra)
        recovered.append(Recovered(sid, summary))
    return recovered
