"""``kiosk sandbox`` and ``python -m sandbox``: enrolment, exit codes, start-up errors."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from config.exit_codes import ExitCode
from kiosk.cli.main import main
from sandbox.db import open_engine
from sandbox.store import Store
from tests.sandbox_process import REPO


def test_enrol_writes_a_0600_secret_that_the_database_knows(tmp_path: Path) -> None:
    db, secret_file = tmp_path / "p.sqlite3", tmp_path / "keys" / "k1.secret"
    code = main(
        ["sandbox", "enrol", "--kiosk-id", "k1", "--db", str(db), "--secret-file", str(secret_file)]
    )
    assert code == 0
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    assert Store(open_engine(str(db))).kiosk_secret("k1") == secret
    # Enrolling again rotates the secret.
    assert (
        main(
            [
                "sandbox",
                "enrol",
                "--kiosk-id",
                "k1",
                "--db",
                str(db),
                "--secret-file",
                str(secret_file),
            ]
        )
        == 0
    )
    assert secret_file.read_text().strip() != secret


def test_enrol_rejects_a_bad_kiosk_id(tmp_path: Path) -> None:
    code = main(
        [
            "sandbox",
            "enrol",
            "--kiosk-id",
            "bad id/..",
            "--db",
            str(tmp_path / "p.db"),
            "--secret-file",
            str(tmp_path / "s"),
        ]
    )
    assert code == ExitCode.CONFIG_ERROR
    assert not (tmp_path / "s").exists()


def test_serve_rejects_a_bad_fault_spec_and_a_missing_catalogue(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    assert main(["sandbox", "--db", db, "--fault", "/x:speed=1"]) == ExitCode.CONFIG_ERROR
    missing = str(tmp_path / "none.json")
    assert main(["sandbox", "--db", db, "--catalog", missing]) == ExitCode.CONFIG_ERROR


def test_python_m_sandbox_reports_start_up_errors(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('{"items": [{"code": "X"}]}', encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--db",
            str(tmp_path / "p.db"),
            "--catalog",
            str(bad),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == ExitCode.CONFIG_ERROR
    assert "item 0" in result.stderr
