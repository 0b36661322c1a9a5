"""``kiosk config check|show``: exit codes, provenance, secrets masked unless revealed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli.main import main


def test_check_ok_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[ui]\nlanguage = "en"\n', encoding="utf-8")
    assert main(["-c", str(good), "config", "check"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[devices.id]\ndriver = "idcard_sam"\nurl = "COM1"\n', encoding="utf-8")
    assert main(["-c", str(bad), "config", "check"]) == 3
    err = capsys.readouterr().err
    assert str(bad) in err and "devices.id.url" in err and "not a device URL" in err
    assert "Traceback" not in err


def test_show_masks_the_pin_unless_revealed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text('[ui]\ntechnician_pin = "468213"\n', encoding="utf-8")
    assert main(["-c", str(machine), "config", "show", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["ui"]["technician_pin"] == "***"
    assert doc["provenance"]["ui.technician_pin"] == str(machine)
    assert main(["-c", str(machine), "config", "show", "--json", "--reveal"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["ui"]["technician_pin"] == "468213"
