"""Typed kiosk settings: schema, layered loading, migrations and the CLI exit-code table.

This is the lowest layer of the product: it imports no other project package. Names are
loaded on first use (PEP 562), so ``config.logs`` or ``config.layers`` can be imported
without pydantic (``kiosk run`` draws its first screen before it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.exit_codes import ExitCode
    from config.layers import ConfigError
    from config.loader import LoadedSettings, load_settings
    from config.migrations import CONFIG_VERSION
    from config.schema import DeviceConfig, Settings

_HOME = {
    "CONFIG_VERSION": "config.migrations",
    "ConfigError": "config.layers",
    "DeviceConfig": "config.schema",
    "ExitCode": "config.exit_codes",
    "LoadedSettings": "config.loader",
    "Settings": "config.schema",
    "load_settings": "config.loader",
}

__all__ = [
    "CONFIG_VERSION",
    "ConfigError",
    "DeviceConfig",
    "ExitCode",
    "LoadedSettings",
    "Settings",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'config' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
