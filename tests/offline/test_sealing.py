"""Key management and AES-GCM sealing (offline.sealing)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from offline.errors import OutboxKeyError
from offline.sealing import RETIRED_GRACE_S, KeyRing, key_id_of


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "outbox.key"
    ring = KeyRing.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = KeyRing.load_or_create(path)
    assert again.current_id == ring.current_id
    kid, blob = ring.seal(b"hello", b"aad")
    assert again.open(kid, blob, b"aad") == b"hello"


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.key"
    KeyRing.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(OutboxKeyError, match="chmod 600"):
        KeyRing.load_or_create(path)


def test_tampering_and_wrong_aad_do_not_open(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "k")
    kid, blob = ring.seal(b"secret payload", b"row-1")
    with pytest.raises(OutboxKeyError):
        ring.open(kid, blob, b"row-2")
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(OutboxKeyError):
        ring.open(kid, flipped, b"row-1")
    with pytest.raises(OutboxKeyError, match="not in the key ring"):
        ring.open("kdeadbeef0000", blob, b"row-1")


def test_rotation_keeps_old_keys_and_another_process_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("offline.sealing.REFRESH_EVERY_S", 0.0)  # look at the file every time
    path = tmp_path / "k"
    kiosk = KeyRing.load_or_create(path)
    old_id, old_blob = kiosk.seal(b"old", b"a")
    cli = KeyRing.load_or_create(path)  # the technician's CLI, another KeyRing on the file
    new_id = cli.rotate()
    assert new_id != old_id
    # The running kiosk picks the new key up on its next seal (file re-read on change).
    kid, _ = kiosk.seal(b"new", b"a")
    assert kid == new_id
    assert kiosk.open(old_id, old_blob, b"a") == b"old"
    assert path.stat().st_mode & 0o777 == 0o600
    doc = json.loads(path.read_text())
    assert doc["current"] == new_id and set(doc["keys"]) == {old_id, new_id}


def test_unused_retired_keys_are_dropped_after_the_grace(tmp_path: Path) -> None:
    path = tmp_path / "k"
    ring = KeyRing.load_or_create(path)
    old_id = ring.current_id
    new_id = ring.rotate()
    assert ring.drop_unused(set()) == []  # inside the grace period
    later = os.path.getmtime(path) + RETIRED_GRACE_S + 1
    assert ring.drop_unused({old_id}, now=later) == []  # still used by a row
    assert ring.drop_unused(set(), now=later) == [old_id]
    assert ring.key_ids == [new_id]
    assert ring.drop_unused(set(), now=later) == []  # the current key is never dropped


def test_keys_from_config(tmp_path: Path) -> None:
    old = base64.b64encode(b"\x01" * 32).decode()
    new = base64.b64encode(b"\x02" * 32).decode()
    ring = KeyRing.from_config(new, [old])
    assert ring.current_id == key_id_of(b"\x02" * 32)
    assert set(ring.key_ids) == {key_id_of(b"\x01" * 32), key_id_of(b"\x02" * 32)}
    with pytest.raises(OutboxKeyError, match="configuration"):
        ring.rotate()
    with pytest.raises(OutboxKeyError, match="32 bytes"):
        KeyRing.from_config(base64.b64encode(b"short").decode())
    with pytest.raises(OutboxKeyError, match="base64"):
        KeyRing.from_config("not base64!!")


def test_a_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("{broken")
    path.chmod(0o600)
    with pytest.raises(OutboxKeyError, match="not valid JSON"):
        KeyRing.load_or_create(path)
