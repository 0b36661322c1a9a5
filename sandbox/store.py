"""Business operations of the sandbox platform over :mod:`sandbox.db`.

Every method runs in its own transaction and is safe to call from any thread (see the
threading contract in :mod:`sandbox.db`). Idempotent submissions (cases, evaluations, audit
batches) are keyed by ``(kiosk_id, Idempotency-Key)`` under a UNIQUE constraint; the stored
SHA-256 of the canonical JSON body decides between "same request again" (200, the first
result) and "another request under a used key" (409).

Two lookups on every signed call are cached in memory for :data:`CACHE_TTL_S` (they were a
third of the server's CPU per case in ``bench/outbox.py``'s drain): kiosk secrets and the
catalogue's item codes. Only positive answers are cached, and a miss or a failed check looks
in the database again (:meth:`Store.kiosk_secret` ``fresh=True``), so a kiosk enrolled or
re-keyed by another process (``kiosk sandbox enrol``) works at once; a removal made by
another process takes effect within the TTL. Changes made through this store invalidate at
once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from sandbox import db

CST = timezone(timedelta(hours=8), "CST")

STATUS_TEXT = {
    "received": "已接收",
    "accepted": "已受理",
    "in_progress": "办理中",
    "completed": "已办结",
    "rejected": "不予受理",
}


def now_iso() -> str:
    return datetime.now(CST).isoformat(timespec="seconds")


def canonical_sha256(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


#: Seconds a cached kiosk secret or item-code set is trusted (see the module docstring).
CACHE_TTL_S = 30.0

_SECRET_OF = sa.select(db.kiosks.c.secret).where(db.kiosks.c.kiosk_id == sa.bindparam("kiosk_id"))
_INSERT_NONCE = sa.insert(db.nonces)
_PRUNE_NONCES = sa.delete(db.nonces).where(db.nonces.c.seen_at < sa.bindparam("cutoff"))
_ITEM_CODES = sa.select(db.catalog_items.c.code)
_INSERT_CASE = sa.insert(db.cases).returning(db.cases.c.id)
_NUMBER_CASE = (
    sa.update(db.cases)
    .where(db.cases.c.id == sa.bindparam("case_id"))
    .values(case_number=sa.bindparam("number"))
    .returning(*db.cases.c)
)


class ConflictError(Exception):
    """An idempotency key reused with another body."""


@dataclass(frozen=True)
class Submitted:
    created: bool
    row: dict[str, Any]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._last_prune = float("-inf")
        self._cache_lock = threading.Lock()
        self._secrets: dict[str, tuple[str, float]] = {}  # kiosk id → (secret, read at)
        self._codes: tuple[frozenset[str], float] = (frozenset(), float("-inf"))

    # --- kiosks and nonces ---------------------------------------------------------------

    def enrol(self, kiosk_id: str) -> str:
        """Create (or replace) the kiosk's secret and return it."""
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(db.kiosks).where(db.kiosks.c.kiosk_id == kiosk_id))
            conn.execute(
                sa.insert(db.kiosks).values(kiosk_id=kiosk_id, secret=secret, enrolled_at=now_iso())
            )
        with self._cache_lock:
            self._secrets.pop(kiosk_id, None)
        return secret

    def kiosk_secret(self, kiosk_id: str, *, fresh: bool = False) -> str | None:
        """The kiosk's secret, from the cache unless ``fresh`` or older than the TTL."""
        now = time.monotonic()
        if not fresh:
            with self._cache_lock:
                cached = self._secrets.get(kiosk_id)
            if cached is not None and now - cached[1] < CACHE_TTL_S:
                return cached[0]
        with self.engine.connect() as conn:
            value = conn.execute(_SECRET_OF, {"kiosk_id": kiosk_id}).scalar_one_or_none()
        with self._cache_lock:
            if value is None:
                self._secrets.pop(kiosk_id, None)
                return None
            self._secrets[kiosk_id] = (str(value), now)
        return str(value)

    def use_nonce(self, kiosk_id: str, nonce: str, now: float, window_s: float) -> bool:
        """Record a nonce; False when the kiosk already used it within the window.

        Nonces older than twice the window are pruned at most once a second (a prune per
        request doubled the cost of every signed call)."""
        try:
            with self.engine.begin() as conn:
                if now - self._last_prune >= 1.0:
                    conn.execute(_PRUNE_NONCES, {"cutoff": now - 2 * window_s})
                    self._last_prune = now
                conn.execute(_INSERT_NONCE, {"kiosk_id": kiosk_id, "nonce": nonce, "seen_at": now})
        except IntegrityError:
            return False
        return True

    # --- holders, codes, licences, benefits ----------------------------------------------

    def holder(
        self, *, holder_ref: str | None = None, id_number: str | None = None
    ) -> dict[str, Any] | None:
        query = sa.select(db.holders)
        if holder_ref is not None:
            query = query.where(db.holders.c.holder_ref == holder_ref)
        elif id_number is not None:
            query = query.where(db.holders.c.id_number == id_number)
        else:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def holders(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.holders).order_by(db.holders.c.holder_ref))
            return [dict(r) for r in rows.mappings()]

    def set_face_score(self, holder_ref: str, score: float | None) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(db.holders)
                .where(db.holders.c.holder_ref == holder_ref)
                .values(face_score=score)
            )
        return result.rowcount > 0

    def issue_code(self, holder_ref: str, ttl_s: float, now: float) -> tuple[str, float]:
        code = "LTM1." + secrets.token_urlsafe(24)
        expires = now + ttl_s
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(db.codes).values(
                    code=code, holder_ref=holder_ref, issued_at=now, expires_at=expires
                )
            )
        return code, expires

    def lookup_code(self, code: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.codes).where(db.codes.c.code == code)).mappings()
            first = row.first()
        return dict(first) if first else None

    def licences_of(self, holder_ref: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.licences)
                .where(db.licences.c.holder_ref == holder_ref)
                .order_by(db.licences.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    def licence(self, licence_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.licences).where(db.licences.c.id == licence_id))
            first = row.mappings().first()
        return dict(first) if first else None

    def benefits_of(self, holder_ref: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.benefits)
                .where(db.benefits.c.holder_ref == holder_ref)
                .order_by(db.benefits.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    # --- issued documents (certificates) --------------------------------------------------

    def issue_document(
        self, holder_ref: str, item_code: str, title: str, rows: list[tuple[str, str]]
    ) -> dict[str, Any]:
        ref = "doc-" + secrets.token_hex(12)
        row = {
            "ref": ref,
            "holder_ref": holder_ref,
            "item_code": item_code,
            "title": title,
            "rows": json.dumps(rows, ensure_ascii=False),
            "issued_at": now_iso(),
        }
        with self.engine.begin() as conn:
            conn.execute(sa.insert(db.documents).values(**row))
        return row

    def document(self, ref: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            first = (
                conn.execute(sa.select(db.documents).where(db.documents.c.ref == ref))
                .mappings()
                .first()
            )
        return dict(first) if first else None

    # --- catalogue -----------------------------------------------------------------------

    def replace_catalog(self, items: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(db.catalog_items))
            if items:
                conn.execute(
                    sa.insert(db.catalog_items),
                    [
                        {
                            "code": item["code"],
                            "position": i,
                            "body": json.dumps(item, ensure_ascii=False),
                        }
                        for i, item in enumerate(items)
                    ],
                )
        self._codes = (frozenset(), float("-inf"))

    def catalog(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.catalog_items.c.body).order_by(db.catalog_items.c.position)
            )
            return [json.loads(body) for body in rows.scalars()]

    def item_name(self, code: str) -> str | None:
        """The catalogue item's name (None for a code not in the catalogue)."""
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(db.catalog_items.c.body).where(db.catalog_items.c.code == code)
            ).scalar_one_or_none()
        return str(json.loads(body)["name"]) if body is not None else None

    def item_exists(self, code: str) -> bool:
        """Whether the catalogue has the item (cached codes; an unknown code is looked up)."""
        codes, read_at = self._codes
        now = time.monotonic()
        if code in codes and now - read_at < CACHE_TTL_S:
            return True
        with self.engine.connect() as conn:
            fresh = frozenset(str(c) for c in conn.execute(_ITEM_CODES).scalars())
        self._codes = (fresh, now)
        return code in fresh

    # --- idempotent submissions ----------------------------------------------------------

    def _existing(
        self, conn: sa.Connection, table: sa.Table, kiosk_id: str, key: str, digest: str
    ) -> dict[str, Any]:
        row = (
            conn.execute(
                sa.select(table).where(table.c.kiosk_id == kiosk_id, table.c.idempotency_key == key)
            )
            .mappings()
            .one()
        )
        if row["body_sha256"] != digest:
            raise ConflictError(key)
        return dict(row)

    def submit_case(self, kiosk_id: str, key: str, payload: dict[str, Any]) -> Submitted:
        digest = canonical_sha256(payload)
        stamp = now_iso()
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    _INSERT_CASE,
                    {
                        "kiosk_id": kiosk_id,
                        "idempotency_key": key,
                        "body_sha256": digest,
                        "item_code": payload["item_code"],
                        "session_id": payload["session_id"],
                        "status": "received",
                        "status_text": STATUS_TEXT["received"],
                        "body": json.dumps(payload, ensure_ascii=False),
                        "created_at": stamp,
                        "updated_at": stamp,
                    },
                ).scalar_one()
                number = f"JN{datetime.now(CST):%Y%m%d}{int(new_id):05d}"
                row = conn.execute(_NUMBER_CASE, {"case_id": new_id, "number": number})
                return Submitted(True, dict(row.mappings().one()))
        except IntegrityError:
            with self.engine.connect() as conn:
                return Submitted(False, self._existing(conn, db.cases, kiosk_id, key, digest))

    def case(self, case_number: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.cases).where(db.cases.c.case_number == case_number))
            first = row.mappings().first()
        return dict(first) if first else None

    def cases(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.cases).order_by(db.cases.c.id))
            return [dict(r) for r in rows.mappings()]

    def set_case_status(self, case_number: str, status: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(db.cases)
                .where(db.cases.c.case_number == case_number)
                .values(status=status, status_text=STATUS_TEXT[status], updated_at=now_iso())
            )
        return result.rowcount > 0

    def submit_evaluation(
        self, kiosk_id: str, key: str, payload: dict[str, Any], level: int, level_text: str
    ) -> Submitted:
        digest = canonical_sha256(payload)
        try:
            with self.engine.begin() as conn:
                values = {
                    "evaluation_id": "EV" + secrets.token_hex(8),
                    "kiosk_id": kiosk_id,
                    "idempotency_key": key,
                    "body_sha256": digest,
                    "case_number": payload.get("case_number"),
                    "item_code": payload["item_code"],
                    "level": level,
                    "level_text": level_text,
                    "body": json.dumps(payload, ensure_ascii=False),
                    "created_at": now_iso(),
                }
                conn.execute(sa.insert(db.evaluations).values(**values))
                return Submitted(True, values)
        except IntegrityError:
            with self.engine.connect() as conn:
                return Submitted(False, self._existing(conn, db.evaluations, kiosk_id, key, digest))

    def submit_audit(self, kiosk_id: str, key: str, payload: dict[str, Any]) -> Submitted:
        digest = canonical_sha256(payload)
        try:
            with self.engine.begin() as conn:
                values = {
                    "kiosk_id": kiosk_id,
                    "idempotency_key": key,
                    "body_sha256": digest,
                    "count": len(payload["events"]),
                    "body": json.dumps(payload, ensure_ascii=False),
                    "created_at": now_iso(),
                }
                conn.execute(sa.insert(db.audit_batches).values(**values))
                return Submitted(True, values)
        except IntegrityError:
            with self.engine.connect() as conn:
                existing = self._existing(conn, db.audit_batches, kiosk_id, key, digest)
                return Submitted(False, existing)

    def audit_events(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Stored audit events in arrival order (with the kiosk id), of one session if given."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.audit_batches.c.kiosk_id, db.audit_batches.c.body).order_by(
                    db.audit_batches.c.id
                )
            )
            return [
                {"kiosk_id": r.kiosk_id, **e}
                for r in rows
                for e in json.loads(r.body)["events"]
                if session_id is None or e.get("session_id") == session_id
            ]

    # --- queue and heartbeat -------------------------------------------------------------

    def issue_ticket(self, category: str, prefix: str, now: float) -> tuple[str, int]:
        day = datetime.fromtimestamp(now, CST).strftime("%Y-%m-%d")
        with self.engine.begin() as conn:
            new_id = conn.execute(
                sa.insert(db.queue_tickets).values(category=category, day=day, issued_at=now)
            ).inserted_primary_key
            assert new_id is not None
            new_id = new_id[0]
            seq = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.queue_tickets)
                .where(
                    db.queue_tickets.c.category == category,
                    db.queue_tickets.c.day == day,
                    db.queue_tickets.c.id <= new_id,
                )
            ).scalar_one()
            # Stand-in for the hall's calling system: tickets of the last 20 minutes wait.
            waiting = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.queue_tickets)
                .where(
                    db.queue_tickets.c.category == category,
                    db.queue_tickets.c.issued_at > now - 1200,
                    db.queue_tickets.c.id < new_id,
                )
            ).scalar_one()
            ticket = f"{prefix}{int(seq):03d}"
            conn.execute(
                sa.update(db.queue_tickets)
                .where(db.queue_tickets.c.id == new_id)
                .values(ticket=ticket)
            )
        return ticket, int(waiting)

    def record_heartbeat(self, kiosk_id: str, payload: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(db.heartbeats).values(
                    kiosk_id=kiosk_id,
                    body=json.dumps(payload, ensure_ascii=False),
                    received_at=now_iso(),
                )
            )

    def counts(self) -> dict[str, int]:
        def count(conn: sa.Connection, table: sa.Table) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

        with self.engine.connect() as conn:
            audit = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(db.audit_batches.c.count), 0))
            ).scalar_one()
            return {
                "cases": count(conn, db.cases),
                "evaluations": count(conn, db.evaluations),
                "audit_events": int(audit),
                "heartbeats": count(conn, db.heartbeats),
                "queue_tickets": count(conn, db.queue_tickets),
                "kiosks": count(conn, db.kiosks),
            }
