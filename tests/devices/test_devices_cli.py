"""``kiosk devices list`` and ``kiosk devices selftest`` over configured devices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli.main import main


def machine_file(tmp_path: Path, *, with_missing: bool) -> Path:
    text = (
        '[devices.idcard]\ndriver = "idcard_sam"\nurl = "sim://idcard?card=resident"\n'
        "options = { poll = false }\n"
    )
    if with_missing:
        text += '[devices.spare]\ndriver = "idcard_sam"\nurl = "/dev/ttyQUANBAN-NONE"\n'
    path = tmp_path / "machine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_list_reports_state_identity_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = machine_file(tmp_path, with_missing=True)
    assert main(["-c", str(cfg), "devices", "list", "--json", "--timeout", "5"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["devices"]}
    assert rows["idcard"]["state"] == "online"
    assert rows["idcard"]["driver"] == "idcard_sam"
    assert rows["idcard"]["identity"]["extra"]["sam_id"]
    assert rows["spare"]["state"] == "no_device"
    assert rows["spare"]["error"]["code"] == "device_not_found"
    assert rows["spare"]["error"]["remediation"] == "configuration"


def test_selftest_passes_and_fails_with_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = machine_file(tmp_path, with_missing=False)
    assert main(["-c", str(ok), "devices", "selftest", "--json", "--timeout", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    bad = machine_file(tmp_path, with_missing=True)
    assert main(["-c", str(bad), "devices", "selftest", "--json", "--timeout", "5"]) == 26
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert {d["name"]: d["ok"] for d in doc["devices"]} == {"idcard": True, "spare": False}


def test_list_with_no_devices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"devices": []}
