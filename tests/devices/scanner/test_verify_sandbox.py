"""鲁通码 verification against the REAL sandbox platform process (tests/sandbox_process.py).

Valid, expired, forged and platform-offline codes, through the kiosk's own platform client
(offline.client.PlatformClient) and the scanner adapter; plus the whole path from a scan on
the emulated scanner to a verified holder. The code never shows up in any log line.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
from collections.abc import Iterator

import pytest

from config.logs import JsonFormatter
from devices.scanner.classify import CodeKind
from devices.scanner.driver_serial import SerialScanner
from devices.scanner.emulator import ScannerEmulator
from devices.scanner.verify import CodeVerifier, PlatformCodeVerifier, VerifyStatus
from devices.sim import register_instance, unregister_instance
from offline.client import PlatformClient, RetryPolicy
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")


@pytest.fixture
def client(sandbox: SandboxProcess) -> Iterator[PlatformClient]:
    c = PlatformClient(
        sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=5, retry=RetryPolicy(attempts=1)
    )
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def verifier(client: PlatformClient) -> CodeVerifier:
    return PlatformCodeVerifier(client)


def _no_code_in_logs(caplog: pytest.LogCaptureFixture, code: str) -> None:
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert code not in text
    assert code.split(".", 1)[-1] not in text


def test_valid_code(
    sandbox: SandboxProcess, verifier: CodeVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    holder = sandbox.holders()[0]
    issued = sandbox.issue_code(holder_ref=holder["holder_ref"], ttl_s=60)
    result = verifier.verify(issued["code"])
    assert result.status is VerifyStatus.VALID
    assert result.holder_ref == holder["holder_ref"]
    assert result.expires_in is not None and 0 < result.expires_in <= 60
    assert result.alternatives == ()
    assert holder["holder_ref"] not in repr(result)
    _no_code_in_logs(caplog, issued["code"])


def test_expired_code(sandbox: SandboxProcess, verifier: CodeVerifier) -> None:
    issued = sandbox.issue_code(ttl_s=-1)
    result = verifier.verify(issued["code"])
    assert result.status is VerifyStatus.EXPIRED and result.holder_ref is None
    assert "过期" in result.message.zh_CN and "expired" in result.message.get("en")


@pytest.mark.parametrize(
    "forged",
    [
        "LTM1." + secrets.token_urlsafe(24),  # right shape, never issued
        "LTM1.",  # truncated
        "随便" * 10,
    ],
)
def test_forged_code(verifier: CodeVerifier, forged: str) -> None:
    result = verifier.verify(forged)
    assert result.status is VerifyStatus.REJECTED and result.holder_ref is None
    assert result.alternatives == ("id_card",)


def test_platform_outage_is_offline_with_another_way_to_identify(
    sandbox: SandboxProcess, verifier: CodeVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    issued = sandbox.issue_code(ttl_s=60)
    sandbox.set_faults(outage=True)
    try:
        result = verifier.verify(issued["code"])
    finally:
        sandbox.clear_faults()
    assert result.status is VerifyStatus.OFFLINE
    assert result.reason == "platform_unavailable"
    assert "身份证" in result.message.zh_CN and "ID card" in result.message.en
    assert result.alternatives == ("id_card", "staff")
    _no_code_in_logs(caplog, issued["code"])
    # and once the platform is back the same code verifies
    assert verifier.verify(issued["code"]).status is VerifyStatus.VALID


def test_platform_unreachable_is_offline() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = PlatformClient(
        f"http://127.0.0.1:{port}", "k", "s", timeout_s=2, retry=RetryPolicy(attempts=1)
    )
    try:
        result = PlatformCodeVerifier(c).verify("LTM1." + secrets.token_urlsafe(24))
    finally:
        c.close()
    assert result.status is VerifyStatus.OFFLINE


def test_wrong_enrolment_secret_is_offline_for_the_citizen(sandbox: SandboxProcess) -> None:
    c = PlatformClient(
        sandbox.url, sandbox.kiosk_id, "not-the-secret", timeout_s=5, retry=RetryPolicy(attempts=1)
    )
    try:
        result = PlatformCodeVerifier(c).verify(sandbox.issue_code()["code"])
    finally:
        c.close()
    assert result.status is VerifyStatus.OFFLINE
    assert result.reason == "platform_auth:bad_signature"


def test_malformed_codes_never_reach_the_platform() -> None:
    class Exploding:
        def verify_code(self, code: str) -> object:
            raise AssertionError("must not be called")

    v = PlatformCodeVerifier(Exploding())
    assert v.verify("").status is VerifyStatus.REJECTED
    assert v.verify("x" * 5000).status is VerifyStatus.REJECTED


def test_scanned_code_to_verified_holder(sandbox: SandboxProcess, verifier: CodeVerifier) -> None:
    holder = sandbox.holders()[1]
    issued = sandbox.issue_code(holder_ref=holder["holder_ref"], ttl_s=60)
    emu = ScannerEmulator(trigger="honeywell")
    register_instance("lutong-e2e", lambda: emu)
    dev = SerialScanner(
        "scanner", "sim://scanner?instance=lutong-e2e", options={"trigger": "honeywell"}
    )
    try:
        emu.present(issued["code"])  # shown before the step asks: read once armed
        code = dev.read_code(timeout=5).wait(7)
    finally:
        dev.stop()
        unregister_instance("lutong-e2e")
        emu.close()
    assert code.kind is CodeKind.LUTONG and code.text is not None
    result = verifier.verify(code.text)
    assert result.status is VerifyStatus.VALID and result.holder_ref == holder["holder_ref"]


def test_cli_scan_and_verify(sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli.main import main

    platform = [
        *("--set", f"platform.url={sandbox.url}"),
        *("--set", f"platform.kiosk_id={sandbox.kiosk_id}"),
        *("--set", f"platform.secret_file={sandbox.secret_file}"),
    ]
    issued = sandbox.issue_code(ttl_s=60)
    url = f"sim://scanner?payload={issued['code']}"
    rc = main([*platform, "devices", "scan", "--url", url, "--verify", "--json", "--reveal"])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = json.loads(out)
    assert doc["kind"] == "lutong" and issued["code"] not in out
    assert doc["verification"]["status"] == "valid"
    sandbox.set_faults(outage=True)
    try:
        rc = main([*platform, "devices", "scan", "--url", url, "--verify", "--json"])
    finally:
        sandbox.clear_faults()
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert doc["verification"]["status"] == "offline"
    assert doc["verification"]["alternatives"] == ["id_card", "staff"]
