"""``kiosk queue …``: output, masking of personal data, exit codes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from config import ExitCode
from kiosk.cli.main import main
from offline.outbox import Outbox
from offline.sealing import KeyRing
from tests.offline.synthetic import case_payload


@pytest.fixture
def box_dir(tmp_path: Path) -> Path:
    box = Outbox(tmp_path / "o.sqlite3", KeyRing.load_or_create(tmp_path / "o.key"))
    payload = case_payload(random.Random(4))
    box.enqueue("case", "sess-1", payload, idempotency_key="cli-test-0001")
    dead = box.get(box.enqueue("case", "sess-2", payload, idempotency_key="cli-test-0002"))
    box.mark_dead(dead, "HTTP 422: platform rejected the request: body.item_code: unknown")
    box.close()
    return tmp_path


def run(box_dir: Path, *args: str) -> int:
    return main(
        [
            "--set",
            f"outbox.path={box_dir / 'o.sqlite3'}",
            "--set",
            f"outbox.key_file={box_dir / 'o.key'}",
            "queue",
            *args,
        ]
    )


def payload_of(box_dir: Path) -> dict[str, object]:
    box = Outbox(box_dir / "o.sqlite3", KeyRing.load_or_create(box_dir / "o.key"))
    try:
        return box.payload(1)
    finally:
        box.close()


def test_status_json(box_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(box_dir, "status", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"] == {"pending": 1, "delivered": 0, "dead": 1}
    assert doc["window"]["pending"] == 1
    assert doc["current_key_id"] in doc["key_ids"]


def test_list_and_show_mask_personal_data(
    box_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = payload_of(box_dir)["applicant"]["id_number"]  # type: ignore[index]
    assert run(box_dir, "list", "--json") == 0
    listed = capsys.readouterr().out
    assert [i["id"] for i in json.loads(listed)["items"]] == [2, 1]
    assert run(box_dir, "show", "1", "--json") == 0
    shown = capsys.readouterr().out
    assert secret not in listed and secret not in shown
    doc = json.loads(shown)
    assert doc["payload"]["applicant"]["id_number"] == "***"
    assert doc["payload"]["item_code"] == "YJS-0009"  # not personal: left readable
    assert run(box_dir, "show", "1") == 0
    assert secret not in capsys.readouterr().out
    assert run(box_dir, "show", "1", "--reveal", "--json") == 0
    assert json.loads(capsys.readouterr().out)["payload"]["applicant"]["id_number"] == secret


def test_dead_retry_purge(box_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(box_dir, "dead", "--json") == 0
    dead = json.loads(capsys.readouterr().out)["items"]
    assert [d["id"] for d in dead] == [2] and "item_code" in dead[0]["last_error"]
    assert run(box_dir, "retry", "2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["item"]["state"] == "pending"
    assert run(box_dir, "purge", "--dead", "--older-than-hours", "0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == 0  # nothing delivered or dead


def test_rotate_key(box_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(box_dir, "rotate-key", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["key_ids"]) == 2
    assert payload_of(box_dir)["item_code"] == "YJS-0009"  # old rows still open


def test_exit_codes(box_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(box_dir, "show", "99") == ExitCode.QUEUE_ITEM_NOT_FOUND
    assert "no outbox item with id 99" in capsys.readouterr().err
    assert run(box_dir, "retry", "99", "--json") == ExitCode.QUEUE_ITEM_NOT_FOUND
    assert json.loads(capsys.readouterr().out)["ok"] is False
    (box_dir / "o.key").chmod(0o644)
    assert run(box_dir, "status") == ExitCode.OUTBOX_ERROR
    assert "chmod 600" in capsys.readouterr().err
    missing = main(["--set", f"outbox.path={tmp_path / 'none.sqlite3'}", "queue", "status"])
    assert missing == ExitCode.OUTBOX_ERROR
    assert "no outbox" in capsys.readouterr().err
