"""The committed OpenAPI document matches the app, and the running sandbox survives a
schemathesis run against it with no 5xx and contract-shaped error bodies.

Each generated request is signed by a ``requests`` auth hook (fresh timestamp and nonce, over
the exact bytes sent), so the fuzzer gets past the gateway to the handlers. ``PUT
/admin/faults`` is left out: a generated plan could switch on an outage or minutes of
latency for the rest of the run. Bounded to stay well under a minute on 2 cores.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from sandbox.contract import OPENAPI_PATH, openapi_document, render
from tests.sandbox_process import SandboxProcess, sandbox_fixture, sign_headers

fuzz_sandbox = sandbox_fixture(scope="module")


def test_committed_openapi_matches_the_app() -> None:
    committed = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert committed == openapi_document(), "run: python -m sandbox.contract"
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render()


def test_openapi_lists_every_contract_endpoint() -> None:
    paths = openapi_document()["paths"]
    for path, method in [
        ("/api/v1/health", "get"),
        ("/api/v1/catalog", "get"),
        ("/api/v1/identity/verify-code", "post"),
        ("/api/v1/identity/user-info", "post"),
        ("/api/v1/identity/face-match", "post"),
        ("/api/v1/licences", "get"),
        ("/api/v1/licences/{licence_id}/pdf", "get"),
        ("/api/v1/benefits", "get"),
        ("/api/v1/cases", "post"),
        ("/api/v1/cases/{case_number}", "get"),
        ("/api/v1/evaluations", "post"),
        ("/api/v1/audit-events", "post"),
        ("/api/v1/queue-tickets", "post"),
        ("/api/v1/kiosks/{kiosk_id}/heartbeat", "post"),
    ]:
        assert method in paths[path], (method, path)


class _Signer(requests.auth.AuthBase):
    def __init__(self, sb: SandboxProcess) -> None:
        self.sb = sb

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        assert isinstance(body, bytes)
        assert r.method is not None and r.path_url is not None
        r.headers.update(sign_headers(self.sb.kiosk_id, self.sb.secret, r.method, r.path_url, body))
        r.headers["X-Admin-Token"] = self.sb.admin_token
        return r


# The coverage phase (hundreds of boundary cases per operation) is off to keep the run short;
# the examples and fuzzing phases run, bounded by max_examples.
_config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_path(str(OPENAPI_PATH), config=_config).exclude(
    method="PUT", path="/admin/faults"
)


def _contract_error_shape(response: Any) -> None:
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), response.text


@pytest.fixture(scope="module")
def signed_session(fuzz_sandbox: SandboxProcess) -> requests.Session:
    session = requests.Session()
    session.auth = _Signer(fuzz_sandbox)
    return session


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz_no_server_errors(
    case: Any, fuzz_sandbox: SandboxProcess, signed_session: requests.Session
) -> None:
    response = case.call(base_url=fuzz_sandbox.url, session=signed_session, timeout=15)
    case.validate_response(response, checks=[not_a_server_error])
    _contract_error_shape(response)
