"""Sealing of outbox payloads at rest: AES-256-GCM (``cryptography``) with a key ring.

Format
------
A sealed payload is ``nonce (12 random bytes) || ciphertext || tag (16 bytes)``; the row keeps
the id of the key that sealed it. The associated data binds the ciphertext to its row's
kind and idempotency key, so a blob moved to another row does not open.

A key id is ``k`` + the first 12 hex digits of SHA-256(``b"quanban-outbox-key-id\\0"`` + key):
derived from the key, so two kiosks or two files can never give one id to different keys, and
it reveals nothing usable about the key.

Keys never enter the database. They come from either

* a key file (``OutboxConfig.key_file``), created with mode 0600 when missing and refused when
  group or others may read it; JSON ``{"format": "quanban-outbox-keys", "version": 1,
  "current": ID, "keys": {ID: base64}, "retired_at": {ID: unix_time}}``, replaced atomically
  (write a temporary file, fsync, rename, fsync the directory); or
* configuration (``OutboxConfig.key_b64`` plus ``retired_keys_b64``), for sites that provision
  keys from their own secret store. Rotation is then done in configuration.

Rotation puts a new key in front; old keys stay to open old rows. A retired key is dropped
only when no row uses it any more *and* it was retired more than :data:`RETIRED_GRACE_S` ago
(a running kiosk re-reads a replaced file within :data:`REFRESH_EVERY_S`; the grace covers
that and any seal in flight).

Threading: a :class:`KeyRing` is safe to share; a lock guards reloads and rotation.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offline.errors import OutboxKeyError

KEY_BYTES = 32
NONCE_BYTES = 12
FILE_FORMAT = "quanban-outbox-keys"
RETIRED_GRACE_S = 3600.0
#: How often a running kiosk looks whether the key file was replaced (rotation by the CLI).
REFRESH_EVERY_S = 1.0


def key_id_of(key: bytes) -> str:
    return "k" + hashlib.sha256(b"quanban-outbox-key-id\0" + key).hexdigest()[:12]


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise OutboxKeyError("an outbox key is not valid base64") from err
    if len(key) != KEY_BYTES:
        raise OutboxKeyError(f"an outbox key must be {KEY_BYTES} bytes, not {len(key)}")
    return key


class KeyRing:
    """The sealing keys: one current key for new rows, older ones to open old rows."""

    def __init__(
        self,
        keys: dict[str, bytes],
        current: str,
        *,
        path: Path | None = None,
        retired_at: dict[str, float] | None = None,
    ) -> None:
        if current not in keys:
            raise OutboxKeyError("the current outbox key is not in the key ring")
        self._lock = threading.Lock()
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0  # monotonic time of the last look at the key file
        self._set(keys, current, retired_at or {})

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_config(cls, key_b64: str, retired_b64: Iterable[str] = ()) -> KeyRing:
        current_key = decode_key(key_b64)
        keys = {key_id_of(k): k for k in (decode_key(t) for t in retired_b64)}
        keys[key_id_of(current_key)] = current_key
        return cls(keys, key_id_of(current_key))

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Open the key file, creating it (0600, one fresh key) if it does not exist."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            kid = key_id_of(key)
            # FileExistsError: another process created it first; use theirs.
            with contextlib.suppress(FileExistsError):
                _create(path, _dump({kid: key}, kid, {}))
        keys, current, retired = _load(path)
        ring = cls(keys, current, path=path, retired_at=retired)
        ring._stamp = _stamp_of(path)
        return ring

    # -- use ---------------------------------------------------------------------------

    @property
    def current_id(self) -> str:
        self._refresh()
        return self._current

    @property
    def key_ids(self) -> list[str]:
        self._refresh()
        return list(self._keys)

    @property
    def file_backed(self) -> bool:
        return self._path is not None

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Seal with the current key; return ``(key_id, nonce || ciphertext || tag)``."""
        self._refresh()
        kid = self._current
        nonce = os.urandom(NONCE_BYTES)
        return kid, nonce + self._aead[kid].encrypt(nonce, plaintext, aad)

    def open(self, key_id: str, blob: bytes, aad: bytes) -> bytes:
        aead = self._aead.get(key_id)
        if aead is None:
            self._refresh(force=True)
            aead = self._aead.get(key_id)
        if aead is None:
            raise OutboxKeyError(f"outbox key {key_id} is not in the key ring")
        try:
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as err:
            raise OutboxKeyError(f"a row sealed with key {key_id} does not open") from err

    # -- management (key file only) ----------------------------------------------------

    def rotate(self) -> str:
        """Make a fresh key current (old keys are kept); return its id."""
        path = self._require_file()
        with self._lock:
            keys, current, retired = _load(path)
            key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            kid = key_id_of(key)
            keys[kid] = key
            retired[current] = time.time()
            _replace(path, _dump(keys, kid, retired))
            self._set(keys, kid, retired)
            self._stamp = _stamp_of(path)
        return kid

    def drop_unused(self, used: set[str], *, now: float | None = None) -> list[str]:
        """Remove retired keys no row uses (after the grace period); return their ids."""
        path = self._require_file()
        now = time.time() if now is None else now
        with self._lock:
            keys, current, retired = _load(path)
            gone = [
                kid
                for kid in keys
                if kid != current
                and kid not in used
                and now - retired.get(kid, 0.0) >= RETIRED_GRACE_S
            ]
            if gone:
                for kid in gone:
                    del keys[kid]
                    retired.pop(kid, None)
                _replace(path, _dump(keys, current, retired))
                self._set(keys, current, retired)
                self._stamp = _stamp_of(path)
        return gone

    # -- internals ---------------------------------------------------------------------

    def _set(self, keys: dict[str, bytes], current: str, retired: dict[str, float]) -> None:
        self._keys = dict(keys)
        self._current = current
        self._retired = dict(retired)
        self._aead = {kid: AESGCM(k) for kid, k in keys.items()}

    def _require_file(self) -> Path:
        if self._path is None:
            raise OutboxKeyError(
                "the outbox keys come from configuration: rotate them there "
                "(new outbox.key_b64, old key moved to outbox.retired_keys_b64)"
            )
        return self._path

    def _refresh(self, *, force: bool = False) -> None:
        """Re-read the key file if another process (the CLI) has replaced it."""
        if self._path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_EVERY_S:
            return
        self._checked = now
        stamp = _stamp_of(self._path)
        if not force and stamp == self._stamp:
            return
        with self._lock:
            keys, current, retired = _load(self._path)
            self._set(keys, current, retired)
            self._stamp = stamp


def _stamp_of(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _dump(keys: dict[str, bytes], current: str, retired: dict[str, float]) -> bytes:
    doc = {
        "format": FILE_FORMAT,
        "version": 1,
        "current": current,
        "keys": {kid: base64.b64encode(k).decode("ascii") for kid, k in keys.items()},
        "retired_at": retired,
    }
    return json.dumps(doc, indent=1).encode("utf-8")


def _load(path: Path) -> tuple[dict[str, bytes], str, dict[str, float]]:
    try:
        st = path.stat()
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise OutboxKeyError(
                f"outbox key file {path} may be read by other users (chmod 600 it)"
            )
        doc: Any = json.loads(path.read_bytes())
    except OSError as err:
        raise OutboxKeyError(f"cannot read outbox key file {path}: {err.strerror}") from err
    except ValueError as err:
        raise OutboxKeyError(f"outbox key file {path} is not valid JSON") from err
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise OutboxKeyError(f"{path} is not an outbox key file")
    raw_keys = doc.get("keys")
    current = doc.get("current")
    if not isinstance(raw_keys, dict) or not isinstance(current, str):
        raise OutboxKeyError(f"outbox key file {path} lacks 'keys' or 'current'")
    keys: dict[str, bytes] = {}
    for kid, text in raw_keys.items():
        key = decode_key(str(text))
        if key_id_of(key) != kid:
            raise OutboxKeyError(f"outbox key file {path}: key {kid} does not match its id")
        keys[kid] = key
    if current not in keys:
        raise OutboxKeyError(f"outbox key file {path}: current key {current} is missing")
    raw_retired = doc.get("retired_at") or {}
    if not isinstance(raw_retired, dict):
        raise OutboxKeyError(f"outbox key file {path}: 'retired_at' is not an object")
    retired = {str(k): float(v) for k, v in raw_retired.items() if isinstance(v, int | float)}
    return keys, current, retired


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def _create(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` atomically; FileExistsError if it exists."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, data)
    try:
        os.link(tmp, path)  # atomic, and fails if another process created it first
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
