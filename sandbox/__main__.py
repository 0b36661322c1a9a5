"""``python -m sandbox``: the same as ``kiosk sandbox`` without the kiosk package.

Usage::

    python -m sandbox [--host H] [--port P] [--db URL|PATH] [--fault SPEC]...
                      [--admin-token T] [--catalog FILE] [--ready-file FILE]
    python -m sandbox enrol --kiosk-id ID [--db URL|PATH] [--secret-file PATH]

Exit codes: 0 normal stop, 2 bad usage, 3 bad start-up option (config error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.exit_codes import ExitCode
from config.logs import setup_logging
from sandbox.seed import CatalogFileError
from sandbox.server import DEFAULT_DB, SandboxSetupError, ServeOptions, enrol, serve


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["enrol"]:
        parser = argparse.ArgumentParser(prog="python -m sandbox enrol")
        parser.add_argument("--kiosk-id", required=True)
        parser.add_argument("--db", default=DEFAULT_DB)
        parser.add_argument("--secret-file", type=Path, default=None)
        ns = parser.parse_args(args[1:])
        secret_file = ns.secret_file or Path(f"var/{ns.kiosk_id}.secret")
        try:
            enrol(ns.db, ns.kiosk_id, secret_file)
        except SandboxSetupError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return int(ExitCode.CONFIG_ERROR)
        sys.stdout.write(f"enrolled {ns.kiosk_id}; secret written to {secret_file}\n")
        return 0
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--admin-token", default=None)
    parser.add_argument("--catalog", type=Path, default=None)
    parser.add_argument("--ready-file", type=Path, default=None)
    parser.add_argument("--log-level", default="WARNING")
    ns = parser.parse_args(args)
    setup_logging(None, console_level=ns.log_level.upper())
    try:
        serve(
            ServeOptions(
                host=ns.host,
                port=ns.port,
                db=ns.db,
                faults=ns.fault,
                admin_token=ns.admin_token,
                catalog=ns.catalog,
                ready_file=ns.ready_file,
            )
        )
    except (SandboxSetupError, CatalogFileError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return int(ExitCode.CONFIG_ERROR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
