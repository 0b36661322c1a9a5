"""Start the sandbox platform, and enrol kiosks: the entry points behind ``kiosk sandbox``
and ``python -m sandbox``.

:func:`serve` opens (and creates) the database, seeds the synthetic holders, loads the
catalogue file, binds the listening socket itself (so ``port=0`` picks a free port without a
race), prints the URL and the admin token, optionally writes them as JSON to a *ready file*
(how ``tests/sandbox_process.py`` learns them), and runs uvicorn until SIGINT/SIGTERM.
uvicorn's access log is off: request lines carry ID numbers in query strings.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from sandbox.app import Context, create_app
from sandbox.db import open_engine
from sandbox.faults import FaultState, plan_from_specs
from sandbox.gateway import Gateway
from sandbox.seed import DEFAULT_CATALOG, load_catalog_file, seed_holders
from sandbox.store import Store

log = logging.getLogger(__name__)

DEFAULT_DB = "var/sandbox.sqlite3"
KIOSK_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class SandboxSetupError(ValueError):
    """Bad start-up options (kiosk id, catalogue file, fault spec, address)."""


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    db: str = DEFAULT_DB
    faults: list[str] = field(default_factory=list)
    admin_token: str | None = None
    catalog: Path | None = None
    ready_file: Path | None = None


def build(options: ServeOptions) -> tuple[Gateway, Context]:
    """Open the database, seed it and assemble the ASGI application (no socket yet)."""
    try:
        plan = plan_from_specs(options.faults)
    except ValueError as exc:
        raise SandboxSetupError(str(exc)) from None
    store = Store(open_engine(options.db))
    seed_holders(store)
    catalog_path = options.catalog or DEFAULT_CATALOG
    if catalog_path.exists():
        store.replace_catalog(load_catalog_file(catalog_path))
    elif options.catalog is not None:
        raise SandboxSetupError(f"catalogue file not found: {catalog_path}")
    ctx = Context(
        store=store,
        faults=FaultState(plan=plan),
        admin_token=options.admin_token or secrets.token_urlsafe(18),
    )
    return Gateway(create_app(ctx), ctx), ctx


def enrol(db: str, kiosk_id: str, secret_file: Path) -> str:
    """Create (or replace) a kiosk's secret; store it in the database and a 0600 file."""
    if not KIOSK_ID_RE.fullmatch(kiosk_id):
        raise SandboxSetupError("kiosk id must be 1-128 characters of [A-Za-z0-9_.-]")
    secret = Store(open_engine(db)).enrol(kiosk_id)
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secret + "\n").encode())
    finally:
        os.close(fd)
    return secret


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it Nagle + delayed ACK add ~40 ms to every keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SandboxSetupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(options: ServeOptions) -> None:
    """Run the platform until interrupted."""
    app, ctx = build(options)
    sock = _bind(options.host, options.port)
    port = sock.getsockname()[1]
    shown_host = f"[{options.host}]" if ":" in options.host else options.host
    url = f"http://{shown_host}:{port}"
    sys.stdout.write(f"sandbox platform listening on {url}\nadmin token: {ctx.admin_token}\n")
    sys.stdout.flush()
    if options.ready_file is not None:
        tmp = options.ready_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {"url": url, "port": port, "pid": os.getpid(), "admin_token": ctx.admin_token}
            )
        )
        os.replace(tmp, options.ready_file)
    log.info("sandbox started", extra={"port": port})
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
