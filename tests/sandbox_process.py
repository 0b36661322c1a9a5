"""Start the REAL sandbox platform as a subprocess for tests (stable API; import it freely).

Usage::

    from tests.sandbox_process import start_sandbox, sandbox_fixture

    sandbox = sandbox_fixture()              # in a test module or conftest.py: a pytest fixture
    # sandbox = sandbox_fixture(scope="module", faults=["outage"])

    def test_something(sandbox: SandboxProcess) -> None:
        sandbox.url             # "http://127.0.0.1:PORT" (free loopback port picked by the server)
        sandbox.kiosk_id        # enrolled kiosk, default "kiosk-test-0001"
        sandbox.secret          # its secret; sandbox.secret_file is the 0600 file holding it
        sandbox.admin_token     # for /admin/* (X-Admin-Token)
        sandbox.db_path, sandbox.pid, sandbox.log_path
        sandbox.set_faults([fault_rule("/api/v1/cases", method="POST", error_rate=1.0)])
        sandbox.set_faults(outage=True)
        sandbox.clear_faults()
        sandbox.stats()         # {"cases": n, "evaluations": n, "audit_events": n, ...}
        sandbox.issue_code(id_number=..., ttl_s=60)   # a 鲁通码 -> {"code", "holder_ref", ...}
        sandbox.holders()       # the seeded synthetic holders (id_number, name, holder_ref, ...)
        sandbox.cases()         # stored cases (idempotency_key, case_number, ...)
        sandbox.set_face_score(holder_ref, 0.3)   # force "no match" (None: default stand-in)
        sandbox.set_case_status(case_number, "completed")
        sandbox.enrol("another-kiosk")            # -> secret of a second kiosk
        sandbox.signed_request("POST", "/api/v1/cases", json={...}, headers={...})

Without pytest: ``with start_sandbox() as sb: ...`` (or call ``sb.stop()`` in ``finally``).

The process machinery lives in :mod:`kiosk.sandbox_process` (``kiosk demo`` uses it too);
this module re-exports it and adds the pytest fixture.

How it works: a temp directory holds the database, the secret file, the log and a *ready
file*; ``python -m sandbox enrol`` enrols the kiosk, then ``python -m sandbox --port 0
--ready-file …`` binds a free loopback port itself and writes its URL there; we then wait
until ``GET /api/v1/health`` answers. :meth:`SandboxProcess.stop` stops the process by its
PID only: SIGTERM, then SIGKILL after a grace period. ``signed_request`` signs per
docs/platform-api.md with its own implementation (it does not import the sandbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest

from kiosk.sandbox_process import (
    DEFAULT_KIOSK_ID,
    REPO,
    SandboxProcess,
    SandboxStartError,
    fault_rule,
    sign_headers,
    start_sandbox,
)

__all__ = [
    "DEFAULT_KIOSK_ID",
    "REPO",
    "SandboxProcess",
    "SandboxStartError",
    "fault_rule",
    "sandbox_fixture",
    "sign_headers",
    "start_sandbox",
]

Scope = Literal["session", "package", "module", "class", "function"]


def sandbox_fixture(scope: Scope = "function", **start_kw: Any) -> Any:
    """A pytest fixture (assign it to a module-level name) yielding a started sandbox.

    ``start_kw`` goes to :func:`start_sandbox`. The process is always stopped (by PID) and
    its temp dir removed, also when the test fails.
    """

    @pytest.fixture(scope=scope)
    def _sandbox() -> Iterator[SandboxProcess]:
        sb = start_sandbox(**start_kw)
        try:
            yield sb
        finally:
            sb.stop()

    return _sandbox
