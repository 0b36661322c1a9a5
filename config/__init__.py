"""Typed kiosk settings: schema, layered loading, migrations and the CLI exit-code table.

This is the lowest layer of the product: it imports no other project package.
"""

from config.exit_codes import ExitCode
from config.loader import ConfigError, LoadedSettings, load_settings
from config.schema import CONFIG_VERSION, DeviceConfig, Settings

__all__ = [
    "CONFIG_VERSION",
    "ConfigError",
    "DeviceConfig",
    "ExitCode",
    "LoadedSettings",
    "Settings",
    "load_settings",
]
