"""Configuration migrations: bring a file written for an older ``config_version`` up to date.

A migration is a pure function from the mapping of version N to that of version N + 1,
registered in ``MIGRATIONS[N]``. Files without ``config_version`` are taken as current.
Files newer than this code are refused rather than half-understood.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: The schema version this code reads (re-exported by :mod:`config.schema`). It lives here,
#: not in the schema, so that layers can be read and migrated without importing pydantic.
CONFIG_VERSION = 1

Migration = Callable[[dict[str, Any]], dict[str, Any]]

MIGRATIONS: dict[int, Migration] = {}


def migrate(data: dict[str, Any], current: int = CONFIG_VERSION) -> dict[str, Any]:
    """Return ``data`` migrated to ``current``; raise ``ValueError`` if that is impossible."""
    version = data.get("config_version", current)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"must be a non-negative integer, not {version!r}")
    if version > current:
        raise ValueError(
            f"file is for config version {version}, this kiosk understands up to {current}; "
            "upgrade the kiosk software"
        )
    while version < current:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ValueError(f"no migration from config version {version} to {version + 1}")
        data = step(dict(data))
        version += 1
        data["config_version"] = version
    return data
