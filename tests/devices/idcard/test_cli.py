"""``kiosk devices read-id|probe|watch|emulate idcard``: output contract and every exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.exit_codes import ExitCode
from devices.idcard.emulator import PtyPort
from kiosk.cli.main import main
from tests.devices.idcard.helpers import DATA, REPO

CARD_KEYS = {
    "card_type",
    "name",
    "gender",
    "nation",
    "birth",
    "address",
    "id_number",
    "issuer",
    "valid_from",
    "valid_to",
    "photo_bytes",
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["devices", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_read_id_json_is_masked_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "read-id", "--url", "sim://idcard?card=resident")
    assert code == ExitCode.OK
    assert set(doc) >= CARD_KEYS
    assert doc["card_type"] == "resident"
    assert doc["name"] == "张*"
    assert doc["id_number"] == "370102********1238"
    assert doc["address"] == "山东省济南市**********"
    assert doc["birth"] == "1990-03-07" and doc["valid_to"] == "2035-06-01"
    assert doc["photo_bytes"] == 1024


def test_read_id_reveal_and_type_specific_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(
        capsys, "read-id", "--url", "sim://idcard?card=foreign_permanent_2023", "--reveal"
    )
    assert code == 0
    assert doc["card_type"] == "foreign_permanent_2023"
    assert doc["english_name"] == "VAN DER BERG, MARIA ALEXANDRA CHRISTINA"
    assert doc["id_number"] == "933156198506140022"
    code, doc = run_json(
        capsys, "read-id", "--url", "sim://idcard?card=resident_long_term", "--baud", "115200"
    )
    assert code == 0 and doc["valid_to"] == "长期" and doc["nation"] == "其他"
    code, doc = run_json(capsys, "read-id", "--url", "sim://idcard?card=hk_mo_tw_residence")
    assert doc["card_type"] == "hk_mo_tw_residence" and doc["pass_number"] == "H******67"
    code, doc = run_json(capsys, "read-id", "--url", "sim://idcard?card=foreign_permanent_2017")
    assert doc["card_type"] == "foreign_permanent_2017" and doc["card_version"] == "02"


def test_read_id_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "read-id", "--url", "sim://idcard?card=resident"]) == 0
    out = capsys.readouterr().out
    assert "张*" in out and "370102********1238" in out
    assert "张三" not in out and "370102199003071238" not in out


@pytest.mark.parametrize(
    ("url", "extra", "expected"),
    [
        ("sim://idcard", [], ExitCode.NO_CARD),
        ("sim://idcard?card=resident&fault=no_card", [], ExitCode.NO_CARD),
        ("sim://idcard?card=resident&fault=stall", ["--timeout", "0.5"], ExitCode.DEVICE_TIMEOUT),
        ("sim://idcard?card=resident&fault=garbled", [], ExitCode.PROTOCOL_ERROR),
        ("/nonexistent/ttyUSB9", [], ExitCode.DEVICE_NOT_FOUND),
        (
            f"sim://idcard?card={DATA / 'resident_bad_check_digit.json'}",
            [],
            ExitCode.BAD_CHECK_DIGIT,
        ),
        ("sim://idcard?card=resident&fault=sam_failure", [], ExitCode.SAM_FAILURE),
    ],
)
def test_read_id_exit_codes(
    url: str, extra: list[str], expected: ExitCode, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["devices", "read-id", "--url", url, *extra])
    captured = capsys.readouterr()
    assert code == expected
    assert captured.out == ""
    assert "error" in captured.err
    # and the same code with --json, as one JSON document
    code, doc = run_json(capsys, "read-id", "--url", url, *extra)
    assert code == expected
    assert doc["ok"] is False and doc["exit_code"] == int(expected)


def test_the_read_id_exit_codes_are_distinct() -> None:
    codes = {
        ExitCode.OK,
        ExitCode.NO_CARD,
        ExitCode.DEVICE_TIMEOUT,
        ExitCode.PROTOCOL_ERROR,
        ExitCode.DEVICE_NOT_FOUND,
        ExitCode.BAD_CHECK_DIGIT,
    }
    assert len({int(c) for c in codes}) == 6


def test_read_id_rejects_an_unsupported_baud(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "read-id", "--url", "sim://idcard", "--baud", "4800"]) == 2
    assert "--baud" in capsys.readouterr().err


def test_probe_identifies_a_sam_reader_on_a_pty(
    pty_port: PtyPort, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = run_json(capsys, "probe", "--no-scan", pty_port.path, "/nonexistent/ttyS9")
    assert code == 0
    assert doc["found"] is True
    ports = {p["port"]: p for p in doc["ports"]}
    assert ports[pty_port.path]["sam_reader"] is True
    assert ports[pty_port.path]["sam_id"] == "05.01-20161012-001234567-089012345"
    assert ports["/nonexistent/ttyS9"]["sam_reader"] is False


def test_probe_reports_a_failed_sam_as_a_sam_reader(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "probe", "--no-scan", "sim://idcard?fault=sam_failure")
    assert code == 0
    (port,) = doc["ports"]
    assert port["sam_reader"] is True and port["state"] == "hardware_error"


def test_probe_without_readers_exits_device_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "probe", "--no-scan", "/nonexistent/ttyS9")
    assert code == ExitCode.DEVICE_NOT_FOUND
    assert doc["found"] is False


def test_watch_streams_status_and_card_events(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["devices", "watch", "--url", "sim://idcard?card=resident", "--duration", "1.5", "--json"]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [line["event"] for line in lines]
    assert "StatusChanged" in kinds and "CardPresented" in kinds
    states = [line["status"]["state"] for line in lines if line["event"] == "StatusChanged"]
    assert "online" in states


# --- the real thing: two processes ---------------------------------------------------------


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    link = tmp_path / "ttyEMU"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "kiosk.cli.main", "devices", "emulate", "idcard"),
            *("--card", "resident", "--link", str(link)),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        yield proc, path
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM to this PID only
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _command(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_emulate_and_read_id_in_separate_processes(
    emulator_process: tuple[subprocess.Popen[str], str],
) -> None:
    proc, path = emulator_process
    assert Path(path).is_symlink()
    done = _cli("devices", "read-id", "--url", path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "张*"
    # The card was read and not lifted: the next read finds no card.
    assert _cli("devices", "read-id", "--url", path).returncode == ExitCode.NO_CARD
    assert _command(proc, "lift") == "ok"
    assert _command(proc, f"place {REPO / 'devices/idcard/cards/hk_mo_tw_residence.json'}") == "ok"
    done = _cli("devices", "read-id", "--url", path, "--json", "--reveal")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["card_type"] == "hk_mo_tw_residence"
    assert _command(proc, "fault sam_failure on") == "ok"
    assert _cli("devices", "read-id", "--url", path).returncode == ExitCode.SAM_FAILURE
    assert _command(proc, "fault sam_failure off") == "ok"
    assert _command(proc, "unplug") == "ok"
    assert not Path(path).exists()
    assert _cli("devices", "read-id", "--url", path).returncode == ExitCode.DEVICE_NOT_FOUND
    assert _command(proc, "replug") == "ok"
    status = json.loads(_command(proc, "status"))
    assert status["plugged"] is True and status["card_present"] is True
    assert _command(proc, "fault melting on").startswith("error")
    proc.terminate()
    assert proc.wait(10) == 0
    assert not Path(path).exists()  # the link is removed on exit
