"""The service catalogue, cached on disk so a kiosk that starts offline still shows its services.

File format: one JSON document ``{"format": "quanban-catalog-cache", "version": 1, "etag": str,
"fetched_at": unix_time, "catalog": <the body of GET /api/v1/catalog>}``, replaced atomically
(temporary file, fsync, rename, fsync of the directory), so a crash leaves the old copy or the
new one, never half of either. The catalogue holds no personal data.

:meth:`CatalogCache.refresh` sends ``If-None-Match`` with the cached ETag; a ``304`` keeps the
cached copy. When the platform cannot be reached the cached copy
is returned and the failure is reported, not raised, so the kiosk keeps working offline.

Threading: one refresh at a time (a lock); :attr:`CatalogCache.catalog` is a snapshot swapped
atomically and can be read from any thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from offline.client import PlatformClient
from offline.errors import PlatformError
from offline.models import Catalog

log = logging.getLogger(__name__)
FILE_FORMAT = "quanban-catalog-cache"


@dataclass(frozen=True)
class CatalogSnapshot:
    catalog: Catalog
    etag: str
    fetched_at: float
    source: str  # "platform" | "cache"


@dataclass(frozen=True)
class RefreshResult:
    snapshot: CatalogSnapshot | None
    changed: bool  # a new catalogue was fetched and stored
    error: PlatformError | None  # why the platform could not be asked (offline …)


class CatalogCache:
    """See the module docstring."""

    def __init__(self, path: Path, client: PlatformClient | None = None) -> None:
        self.path = path
        self.client = client
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None

    @property
    def catalog(self) -> Catalog | None:
        snap = self._snapshot
        return None if snap is None else snap.catalog

    @property
    def snapshot(self) -> CatalogSnapshot | None:
        return self._snapshot

    def load(self) -> CatalogSnapshot | None:
        """Read the cached copy from disk (None if there is none or it is unreadable)."""
        try:
            doc: Any = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("catalogue cache unreadable; ignoring it")
            return None
        try:
            if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
                raise ValueError("not a catalogue cache")
            snap = CatalogSnapshot(
                Catalog.model_validate(doc["catalog"]),
                str(doc["etag"]),
                float(doc["fetched_at"]),
                "cache",
            )
        except (KeyError, TypeError, ValueError, ValidationError):
            log.warning("catalogue cache has an unexpected shape; ignoring it")
            return None
        self._snapshot = snap
        return snap

    def refresh(self) -> RefreshResult:
        """Ask the platform for changes; store a new catalogue; fall back to the cache."""
        if self.client is None:
            raise ValueError("this catalogue cache has no platform client")
        with self._lock:
            current = self._snapshot or self.load()
            try:
                fetch = self.client.catalog(current.etag if current else None)
            except PlatformError as exc:
                log.info("catalogue not refreshed; using the cached copy")
                return RefreshResult(current, False, exc)
            if fetch.catalog is None:
                return RefreshResult(current, False, None)
            snap = CatalogSnapshot(
                fetch.catalog, fetch.etag or fetch.catalog.version, time.time(), "platform"
            )
            self._store(snap)
            self._snapshot = snap
            log.info("catalogue updated", extra={"count": len(snap.catalog.items)})
            return RefreshResult(snap, True, None)

    def _store(self, snap: CatalogSnapshot) -> None:
        doc = {
            "format": FILE_FORMAT,
            "version": 1,
            "etag": snap.etag,
            "fetched_at": snap.fetched_at,
            "catalog": snap.catalog.model_dump(mode="json"),
        }
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
