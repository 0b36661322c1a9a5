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
the console's. The kiosk puts them in its durable outbox (kind ``audit``) at session end.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
#: Events in one ``/api/v1/audit-events`` batch at most (the platform's limit).
BATCH_MAX = 1000
UPLOAD_TYPE = "remote_help.audit"


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
    record whole in ``data``; ``at`` is the upload's wall-clock time (ISO 8601; a record's
    own ``ts`` is the writer's clock, not necessarily wall time)."""
    events = [
        {"type": UPLOAD_TYPE, "at": at, "session_id": str(r["sid"]), "data": dict(r)}
        for r in records
    ]
    return [{"events": events[i : i + batch_max]} for i in range(0, len(events), batch_max)]
