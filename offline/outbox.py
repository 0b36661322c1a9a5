"""The durable, encrypted outbox: everything that must reach the platform goes here first.

Storage
-------
One SQLite file in WAL mode with ``synchronous=FULL``: :meth:`Outbox.enqueue` returns only after
its row is committed and the WAL is fsync'd, so an item acknowledged to a flow survives a
``kill -9`` or a power cut. Table ``items`` (``PRAGMA user_version`` = 1)::

    id               INTEGER PRIMARY KEY AUTOINCREMENT  -- never reused, so CLI ids stay valid
    kind             TEXT     -- "case", "evaluation", "audit" (the sender maps kinds to paths)
    session_id       TEXT     -- the citizen session (a random id, not personal data)
    idempotency_key  TEXT UNIQUE  -- sent as Idempotency-Key on every attempt
    key_id           TEXT     -- the sealing key (offline.sealing); the key is never stored here
    sealed           BLOB     -- AES-GCM of the JSON payload (personal data lives only in here)
    size             INTEGER  -- plaintext bytes, for technicians
    state            TEXT     -- pending | delivered | dead
    created_at, next_attempt_at, delivered_at, dead_at  REAL (Unix time)
    attempts         INTEGER
    last_error       TEXT     -- status codes, reason codes, field locations; never values
    result           TEXT     -- JSON of the platform's non-personal answer (case number …)

Durability
----------
``enqueue`` (and a technician's ``retry``/``purge``) commit with ``synchronous=FULL``. The
sender's status updates (delivered, retry, dead) commit with ``synchronous=NORMAL``: still
atomic and consistent, and made durable by the next FULL commit or checkpoint. Losing one to a
power cut only means the item is sent again, with the same Idempotency-Key, and the platform
answers with the case it already has; not waiting for an fsync per delivery keeps the drain
rate up on slow storage.

Threading contract
------------------
One connection shared by all threads, every statement under one lock. SQLite takes one writer
at a time anyway; a lock gives the same order without handing each enqueue to a writer thread
and back, so ``enqueue`` costs the commit's fsync and little more (see ``bench/outbox.py``).
Sealing and JSON encoding happen outside the lock. Other processes (the ``kiosk queue`` CLI)
open their own connection; WAL lets them read while the kiosk writes, ``busy_timeout`` orders
their writes.

Events (:class:`ItemDelivered`, :class:`ItemDead`, :class:`WindowStateChanged`) go to listeners
on the thread that caused them (a sender worker, or the sender's loop for the window).

Bounded offline window
----------------------
:meth:`Outbox.accepting_submissions` says no, with the reasons, when the oldest pending item is
older than ``max_age_hours``, more than ``max_pending`` items are pending, or the outbox's file
system has less than ``min_free_mb`` free. It is advice for the flow *before* a citizen starts a
submission: ``enqueue`` itself never refuses an item the citizen has already finished.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from config.logs import Safe
from config.schema import OutboxConfig
from offline.errors import OutboxError, OutboxKeyError, QueueItemNotFoundError
from offline.sealing import KeyRing

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
KIND_RE = re.compile(r"^[a-z][a-z_]{0,31}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    session_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    result TEXT,
    delivered_at REAL,
    dead_at REAL
);
CREATE INDEX IF NOT EXISTS items_pending_by_session
    ON items (session_id, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS items_by_state ON items (state, id);
"""

_COLUMNS = (
    "id, kind, session_id, idempotency_key, key_id, size, state, created_at, "
    "next_attempt_at, attempts, last_error, result, delivered_at, dead_at"
)

_I_COLUMNS = ", ".join("i." + c.strip() for c in _COLUMNS.split(","))


class ItemState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class OutboxItem:
    """A row's metadata (never the payload: see :meth:`Outbox.payload`)."""

    id: int
    kind: str
    session_id: str
    idempotency_key: str
    key_id: str
    size: int
    state: ItemState
    created_at: float
    next_attempt_at: float
    attempts: int
    last_error: str | None
    result: dict[str, Any] | None
    delivered_at: float | None
    dead_at: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "session_id": self.session_id,
            "idempotency_key": self.idempotency_key,
            "key_id": self.key_id,
            "size": self.size,
            "state": str(self.state),
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "result": self.result,
            "delivered_at": self.delivered_at,
            "dead_at": self.dead_at,
        }


@dataclass(frozen=True)
class WindowStatus:
    """Whether the kiosk may take new submissions, and why not."""

    accepting: bool
    reasons: tuple[str, ...]
    pending: int
    oldest_pending_age_s: float | None
    free_mb: float

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepting": self.accepting,
            "reasons": list(self.reasons),
            "pending": self.pending,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "free_mb": round(self.free_mb, 1),
        }


@dataclass(frozen=True)
class ItemDelivered:
    item_id: int
    kind: str
    session_id: str
    result: dict[str, Any]


@dataclass(frozen=True)
class ItemDead:
    item_id: int
    kind: str
    session_id: str
    reason: str


@dataclass(frozen=True)
class WindowStateChanged:
    status: WindowStatus


OutboxEvent = ItemDelivered | ItemDead | WindowStateChanged
OutboxListener = Callable[[OutboxEvent], None]


def _aad(kind: str, idempotency_key: str) -> bytes:
    return f"quanban-outbox-v1\0{kind}\0{idempotency_key}".encode()


class Outbox:
    """See the module docstring."""

    def __init__(
        self,
        path: Path,
        keyring: KeyRing,
        *,
        max_pending: int = 500,
        max_age_hours: float = 24.0,
        min_free_mb: float = 200.0,
        retention_hours: float = 72.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.keyring = keyring
        self.max_pending = max_pending
        self.max_age_s = max_age_hours * 3600.0
        self.min_free_mb = min_free_mb
        self.retention_s = retention_hours * 3600.0
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[OutboxListener] = []
        #: Called (no arguments, on the enqueuing thread) after each committed enqueue.
        self.enqueue_hooks: list[Callable[[], None]] = []
        self._last_window: WindowStatus | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.execute("PRAGMA busy_timeout = 10000")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"outbox {path}: cannot switch to WAL (journal_mode={mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"outbox {path} has schema version {version}; this kiosk reads "
                    f"{SCHEMA_VERSION} (upgrade the kiosk software)"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open outbox {path}: {err}") from err
        missing = self.used_key_ids() - set(keyring.key_ids)
        if missing:
            self._db.close()
            raise OutboxKeyError(
                f"outbox {path} has rows sealed with keys {sorted(missing)} that the key ring "
                "lacks: restore the key file (or outbox.key_b64 / retired_keys_b64)"
            )

    @classmethod
    def from_config(cls, cfg: OutboxConfig, *, clock: Callable[[], float] = time.time) -> Outbox:
        if cfg.key_b64:
            keyring = KeyRing.from_config(cfg.key_b64, cfg.retired_keys_b64)
        else:
            keyring = KeyRing.load_or_create(cfg.key_file)
        return cls(
            cfg.path,
            keyring,
            max_pending=cfg.max_pending,
            max_age_hours=cfg.max_age_hours,
            min_free_mb=cfg.min_free_mb,
            retention_hours=cfg.retention_hours,
            clock=clock,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_listener(self, listener: OutboxListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: OutboxListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- writing -----------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        session_id: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """Store one item durably (committed and fsync'd on return); return its id.

        Enqueueing the same ``idempotency_key`` again with the same payload returns the
        first item's id; with another payload it raises :class:`OutboxError`.
        """
        if not KIND_RE.fullmatch(kind):
            raise OutboxError(f"invalid outbox item kind {kind!r}")
        if not session_id or len(session_id) > 128:
            raise OutboxError("an outbox item needs a session id of 1-128 characters")
        key = idempotency_key or os.urandom(16).hex()
        if not KEY_RE.fullmatch(key):
            raise OutboxError("an idempotency key is 8-128 characters of [A-Za-z0-9_.:-]")
        try:
            plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as err:
            raise OutboxError(f"outbox payload is not JSON-serialisable: {err}") from err
        key_id, sealed = self.keyring.seal(plain, _aad(kind, key))
        now = self._clock()
        try:
            with self._lock:
                cur = self._db.execute(
                    "INSERT INTO items (kind, session_id, idempotency_key, key_id, sealed, size,"
                    " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, session_id, key, key_id, sealed, len(plain), now, now),
                )
                row_id = cur.lastrowid
        except sqlite3.IntegrityError:
            return self._existing(kind, key, plain)
        except sqlite3.Error as err:
            raise OutboxError(f"outbox write failed: {err}") from err
        assert row_id is not None
        for hook in self.enqueue_hooks:
            hook()
        return row_id

    def _existing(self, kind: str, key: str, plain: bytes) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, key_id, sealed FROM items WHERE idempotency_key = ?", (key,)
            ).fetchone()
        if row is None:  # pragma: no cover - the UNIQUE violation came from this key
            raise OutboxError("outbox write failed")
        if row[1] != kind or self.keyring.open(row[2], row[3], _aad(kind, key)) != plain:
            raise OutboxError("this idempotency key is already used by another item")
        return int(row[0])

    def mark_delivered(self, item: OutboxItem, result: Mapping[str, Any]) -> None:
        now = self._clock()
        changed = self._write_lazy(
            "UPDATE items SET state = 'delivered', delivered_at = ?, result = ?,"
            " attempts = attempts + 1, last_error = NULL WHERE id = ? AND state = 'pending'",
            (now, json.dumps(dict(result), ensure_ascii=False), item.id),
        )
        if changed:
            self._emit(ItemDelivered(item.id, item.kind, item.session_id, dict(result)))

    def mark_dead(self, item: OutboxItem, reason: str) -> None:
        changed = self._write_lazy(
            "UPDATE items SET state = 'dead', dead_at = ?, last_error = ?,"
            " attempts = attempts + 1 WHERE id = ? AND state = 'pending'",
            (self._clock(), reason, item.id),
        )
        if not changed:
            return
        log.warning(
            "outbox item moved to dead letters", extra={"outbox_id": item.id, "event": "dead"}
        )
        self._emit(ItemDead(item.id, item.kind, item.session_id, reason))

    def mark_retry(self, item: OutboxItem, reason: str, next_attempt_at: float) -> None:
        self._write_lazy(
            "UPDATE items SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (reason, next_attempt_at, item.id),
        )

    def retry(self, item_id: int) -> OutboxItem:
        """Put a dead (or backing-off) item back in line now, for a technician."""
        item = self.get(item_id)
        if item.state == ItemState.DELIVERED:
            raise OutboxError(f"outbox item {item_id} was already delivered")
        self._write(
            "UPDATE items SET state = 'pending', next_attempt_at = ?, dead_at = NULL WHERE id = ?",
            (self._clock(), item_id),
        )
        return self.get(item_id)

    def expedite(self) -> int:
        """Make every backing-off pending item due now (the link has just recovered)."""
        return self._write(
            "UPDATE items SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?",
            (self._clock(), self._clock()),
        )

    def purge(self, *, older_than_s: float | None = None, include_dead: bool = False) -> int:
        """Delete delivered items older than the retention (and dead ones if asked); then
        drop sealing keys no row needs any more. Returns the number of rows deleted."""
        cutoff = self._clock() - (self.retention_s if older_than_s is None else older_than_s)
        n = self._write(
            "DELETE FROM items WHERE state = 'delivered' AND delivered_at <= ?", (cutoff,)
        )
        if include_dead:
            n += self._write("DELETE FROM items WHERE state = 'dead' AND dead_at <= ?", (cutoff,))
        if self.keyring.file_backed:
            dropped = self.keyring.drop_unused(self.used_key_ids())
            if dropped:
                log.info("retired outbox keys dropped", extra={"count": len(dropped)})
        return n

    # -- reading -----------------------------------------------------------------------

    def get(self, item_id: int) -> OutboxItem:
        sql = f"SELECT {_COLUMNS} FROM items WHERE id = ?"  # noqa: S608 - constant columns
        rows = self._read(sql, (item_id,))
        if not rows:
            raise QueueItemNotFoundError(item_id)
        return _item(rows[0])

    def payload(self, item: OutboxItem | int) -> dict[str, Any]:
        """Decrypt an item's payload (personal data: never log it)."""
        if isinstance(item, int):
            item = self.get(item)
        rows = self._read("SELECT sealed FROM items WHERE id = ?", (item.id,))
        if not rows:
            raise QueueItemNotFoundError(item.id)
        plain = self.keyring.open(item.key_id, rows[0][0], _aad(item.kind, item.idempotency_key))
        doc = json.loads(plain)
        if not isinstance(doc, dict):
            raise OutboxError(f"outbox item {item.id} does not hold a JSON object")
        return doc

    def items(
        self, *, state: ItemState | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[OutboxItem]:
        # Only constants are formatted into the SQL; values are bound parameters.
        order = "DESC" if newest_first else "ASC"
        where = "" if state is None else "WHERE state = ?"
        args: tuple[Any, ...] = (limit,) if state is None else (str(state), limit)
        sql = f"SELECT {_COLUMNS} FROM items {where} ORDER BY id {order} LIMIT ?"  # noqa: S608
        return [_item(r) for r in self._read(sql, args)]

    def due_heads(
        self, now: float, *, limit: int, busy: frozenset[str] = frozenset(), scan: int = 64
    ) -> list[OutboxItem]:
        """The oldest pending item of each session not in ``busy``, if due; oldest first.

        Only a session's oldest pending item carries a backoff time (later ones keep their
        enqueue time), so an item is sendable exactly when it is its session's first pending
        item and due. The oldest ``scan`` pending rows are looked at first (cheap, by index);
        only if they yield fewer than ``limit`` is every session's head computed.
        """
        sql = f"SELECT {_COLUMNS} FROM items WHERE state = 'pending' ORDER BY id LIMIT ?"  # noqa: S608
        rows = self._read(sql, (scan,))
        found = _pick_heads(rows, now, limit, busy)
        if len(found) >= limit or len(rows) < scan:
            return found
        rows = self._read(
            f"SELECT {_I_COLUMNS} FROM items i"  # noqa: S608 - constant columns
            " JOIN (SELECT MIN(id) AS id FROM items WHERE state = 'pending'"
            " GROUP BY session_id) h ON i.id = h.id ORDER BY i.id",
            (),
        )
        return _pick_heads(rows, now, limit, busy)

    def next_due_at(self) -> float | None:
        rows = self._read("SELECT MIN(next_attempt_at) FROM items WHERE state = 'pending'", ())
        return None if rows[0][0] is None else float(rows[0][0])

    def counts(self) -> dict[str, int]:
        out = {str(s): 0 for s in ItemState}
        for state, n in self._read("SELECT state, COUNT(*) FROM items GROUP BY state", ()):
            out[str(state)] = int(n)
        return out

    def used_key_ids(self) -> set[str]:
        return {str(r[0]) for r in self._read("SELECT DISTINCT key_id FROM items", ())}

    def accepting_submissions(self) -> WindowStatus:
        now = self._clock()
        pending, oldest = self._read(
            "SELECT COUNT(*), MIN(created_at) FROM items WHERE state = 'pending'", ()
        )[0]
        age = None if oldest is None else max(0.0, now - float(oldest))
        free_mb = shutil.disk_usage(self.path.parent).free / 1_048_576
        reasons = []
        if age is not None and age > self.max_age_s:
            reasons.append(
                f"the oldest unsent item is {age / 3600:.1f} h old "
                f"(limit {self.max_age_s / 3600:g} h)"
            )
        if pending > self.max_pending:
            reasons.append(f"{pending} items wait to be sent (limit {self.max_pending})")
        if free_mb < self.min_free_mb:
            reasons.append(f"only {free_mb:.0f} MB free on disk (need {self.min_free_mb:g} MB)")
        return WindowStatus(not reasons, tuple(reasons), int(pending), age, free_mb)

    def check_window(self) -> WindowStatus:
        """Evaluate the window and publish :class:`WindowStateChanged` if ``accepting`` flipped."""
        status = self.accepting_submissions()
        previous = self._last_window
        self._last_window = status
        if previous is None or previous.accepting != status.accepting:
            if not status.accepting:
                log.warning("outbox window closed: %s", Safe(status.reason or ""))
            elif previous is not None:
                log.info("outbox window open again")
            if previous is not None or not status.accepting:
                self._emit(WindowStateChanged(status))
        return status

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` messages (``["ok"]`` when the file is sound)."""
        return [str(r[0]) for r in self._read("PRAGMA integrity_check", ())]

    def unopenable(self) -> list[int]:
        """Ids of rows whose payload does not decrypt (should always be empty)."""
        bad = []
        for row in self._read(
            "SELECT id, kind, idempotency_key, key_id, sealed FROM items ORDER BY id", ()
        ):
            try:
                self.keyring.open(row[3], row[4], _aad(row[1], row[2]))
            except OutboxKeyError:
                bad.append(int(row[0]))
        return bad

    # -- internals ---------------------------------------------------------------------

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as err:
            raise OutboxError(f"outbox database error: {err}") from err

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._translate(), self._lock:
            return self._db.execute(sql, args).rowcount

    def _write_lazy(self, sql: str, args: tuple[Any, ...]) -> int:
        """A status update that need not wait for its own fsync (see "Durability")."""
        with self._translate(), self._lock:
            self._db.execute("PRAGMA synchronous = NORMAL")
            try:
                return self._db.execute(sql, args).rowcount
            finally:
                self._db.execute("PRAGMA synchronous = FULL")

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._translate(), self._lock:
            return self._db.execute(sql, args).fetchall()

    def _emit(self, event: OutboxEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("outbox listener failed")


def _pick_heads(
    rows: list[tuple[Any, ...]], now: float, limit: int, busy: frozenset[str]
) -> list[OutboxItem]:
    seen: set[str] = set()
    found: list[OutboxItem] = []
    for row in rows:  # in id order: the first row of a session is its head
        session, due_at = str(row[2]), float(row[8])
        if session in seen:
            continue
        seen.add(session)
        if session in busy or due_at > now:
            continue
        found.append(_item(row))
        if len(found) >= limit:
            break
    return found


def _item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=int(row[0]),
        kind=str(row[1]),
        session_id=str(row[2]),
        idempotency_key=str(row[3]),
        key_id=str(row[4]),
        size=int(row[5]),
        state=ItemState(row[6]),
        created_at=float(row[7]),
        next_attempt_at=float(row[8]),
        attempts=int(row[9]),
        last_error=row[10],
        result=json.loads(row[11]) if row[11] else None,
        delivered_at=row[12],
        dead_at=row[13],
    )
