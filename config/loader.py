"""Layered configuration loading: the layers of :mod:`config.layers`, merged and validated
against :class:`config.schema.Settings`. An invalid value gives one :class:`ConfigError`
naming the layer (file or variable) that set it, the key and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from config.layers import ConfigError, Layer, gather_layers, merge_layers, source_of
from config.schema import Settings

__all__ = ["ConfigError", "Layer", "LoadedSettings", "build", "load_settings"]


@dataclass
class LoadedSettings:
    settings: Settings
    #: For each dotted key path, the layer that set it (for `kiosk config show`).
    provenance: dict[str, str] = field(default_factory=dict)


def build(layers: list[Layer]) -> LoadedSettings:
    merged, prov = merge_layers(layers)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(str(p) for p in first["loc"])
        reason = first["msg"]
        if first["type"] == "extra_forbidden":
            reason = "unknown key"
        elif reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        raise ConfigError(source_of(loc, prov), ".".join(loc), reason) from err
    return LoadedSettings(settings, {".".join(k): v for k, v in prov.items()})


def load_settings(
    *,
    site_file: Path | None = None,
    machine_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: list[str] | None = None,
) -> LoadedSettings:
    """Load and validate all layers (see :func:`config.layers.gather_layers`)."""
    return build(
        gather_layers(
            site_file=site_file, machine_file=machine_file, environ=environ, overrides=overrides
        )
    )
