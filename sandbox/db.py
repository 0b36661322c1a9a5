"""The sandbox platform's database: SQLAlchemy 2 Core tables on SQLite (default) or any URL.

Threading contract: one :class:`sqlalchemy.engine.Engine` per process, shared by FastAPI's
worker threads and the gateway (which calls in through a thread pool); every method opens its
own short transaction (``engine.begin()``), so there is no shared connection state. On SQLite
the connection runs in WAL mode with a busy timeout, so concurrent writers wait instead of
failing. Uniqueness that matters for correctness (idempotency keys, nonces, case numbers) is
enforced by constraints, never by read-then-write.

What is personal data: ``holders`` (names, ID numbers, phones, addresses) and case bodies.
All of it here is synthetic seed data or whatever tests submit.

Dependency: SQLAlchemy 2 (Core only, no ORM) — a well-kept, typed way to run the same
schema on SQLite or a server database chosen by URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

kiosks = sa.Table(
    "kiosks",
    metadata,
    sa.Column("kiosk_id", sa.String(128), primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("enrolled_at", sa.String(40), nullable=False),
)

nonces = sa.Table(
    "nonces",
    metadata,
    sa.Column("kiosk_id", sa.String(128), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False, index=True),
)

holders = sa.Table(
    "holders",
    metadata,
    sa.Column("holder_ref", sa.String(64), primary_key=True),
    sa.Column("id_number", sa.String(18), nullable=False, unique=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("gender", sa.String(4), nullable=False),
    sa.Column("birth", sa.String(10), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    #: Admin override of the face-match score (None: the deterministic stand-in score).
    sa.Column("face_score", sa.Float, nullable=True),
)

codes = sa.Table(
    "codes",
    metadata,
    sa.Column("code", sa.String(128), primary_key=True),
    sa.Column("holder_ref", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

licences = sa.Table(
    "licences",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("holder_ref", sa.String(64), nullable=False, index=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("type_name", sa.String(64), nullable=False),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("holder_name", sa.String(64), nullable=False),
    sa.Column("issuer", sa.String(128), nullable=False),
    sa.Column("valid_from", sa.String(10), nullable=False),
    sa.Column("valid_to", sa.String(10), nullable=True),
)

benefits = sa.Table(
    "benefits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("holder_ref", sa.String(64), nullable=False, index=True),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("amount_text", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
)

catalog_items = sa.Table(
    "catalog_items",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_number", sa.String(32), nullable=True, unique=True),
    sa.Column("kiosk_id", sa.String(128), nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_text", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("kiosk_id", "idempotency_key", name="uq_cases_key"),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("evaluation_id", sa.String(40), nullable=False, unique=True),
    sa.Column("kiosk_id", sa.String(128), nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("case_number", sa.String(32), nullable=True),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("level_text", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("kiosk_id", "idempotency_key", name="uq_evaluations_key"),
)

audit_batches = sa.Table(
    "audit_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(128), nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("kiosk_id", "idempotency_key", name="uq_audit_key"),
)

queue_tickets = sa.Table(
    "queue_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("ticket", sa.String(16), nullable=True),
    sa.Column("issued_at", sa.Float, nullable=False),
)

#: Certificates issued for printing (社保参保证明, 完税证明…): the data behind a PDF rendition.
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("ref", sa.String(40), primary_key=True),
    sa.Column("holder_ref", sa.String(64), nullable=False, index=True),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("title", sa.String(128), nullable=False),
    sa.Column("rows", sa.Text, nullable=False),  # JSON [[label, value], …]
    sa.Column("issued_at", sa.String(40), nullable=False),
)

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(128), nullable=False, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),
)


def database_url(db: str) -> str:
    """``--db`` accepts an SQLAlchemy URL or a plain file path (SQLite)."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_engine(db: str) -> Engine:
    """Create the engine and the schema (idempotent)."""
    url = database_url(db)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_pre_ping=False
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
