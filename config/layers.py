"""Configuration layers, read and merged without validating them (no pydantic).

Layers, lowest first: built-in defaults (``config/defaults.toml``) → site TOML file →
machine TOML file → ``KIOSK_*`` environment variables → command-line overrides. Each
layer is a nested mapping; later layers win key by key. Every leaf remembers which layer
set it, so a validation error (:mod:`config.loader`) names the file (or variable) and key
that caused it.

Environment variables: ``KIOSK_<SECTION>__<KEY>`` (double underscore nests), e.g.
``KIOSK_PLATFORM__URL=https://…`` or ``KIOSK_DEVICES__IDCARD__URL=/dev/ttyUSB0``.
``KIOSK_CONFIG`` and ``KIOSK_SITE_CONFIG`` name the machine and site files instead of
being settings themselves.

Kept apart from the validation so that ``kiosk run`` can draw its first screen from
:func:`ui_hints` before pydantic is even imported (~200 ms of CPU); the validated settings
follow a moment later and win.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from config.exit_codes import ExitCode
from config.migrations import migrate

DEFAULT_SITE_FILE = Path("/etc/quanban-kiosk/site.toml")
DEFAULT_MACHINE_FILE = Path("/etc/quanban-kiosk/machine.toml")
ENV_PREFIX = "KIOSK_"
#: Environment variables that locate files rather than set keys.
RESERVED_ENV = frozenset({"KIOSK_CONFIG", "KIOSK_SITE_CONFIG"})

Path_ = tuple[str, ...]


class ConfigError(Exception):
    """An invalid configuration: names the source, the key and the reason."""

    exit_code = ExitCode.CONFIG_ERROR

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {reason}")


@dataclass
class Layer:
    source: str  # a file path, "environment KIOSK_X" or "command line"
    data: dict[str, Any]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(str(path), "", "file not found") from err
    except (PermissionError, IsADirectoryError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), "", f"cannot read file ({err.__class__.__name__})") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), "", f"not valid TOML: {err}") from err


def _file_layer(path: Path) -> Layer:
    data = _read_toml(path)
    try:
        data = migrate(data)
    except ValueError as err:
        raise ConfigError(str(path), "config_version", str(err)) from err
    return Layer(str(path), data)


def default_layer() -> Layer:
    text = resources.files("config").joinpath("defaults.toml").read_text(encoding="utf-8")
    return Layer("built-in defaults", tomllib.loads(text))


def env_layers(environ: Mapping[str, str]) -> list[Layer]:
    """One layer per ``KIOSK_*`` variable so errors can name the exact variable."""
    layers = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            raise ConfigError(f"environment {name}", "", "malformed variable name")
        node: dict[str, Any] = {}
        leaf = node
        for part in parts[:-1]:
            leaf = leaf.setdefault(part, {})
        leaf[parts[-1]] = environ[name]
        layers.append(Layer(f"environment {name}", node))
    return layers


def overrides_layer(pairs: list[str]) -> Layer:
    """``key.sub=value`` pairs from ``--set``; the value is parsed as TOML when it can be."""
    node: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError("command line", pair, "expected KEY=VALUE (e.g. ui.language=en)")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        parts = key.strip().split(".")
        leaf = node
        for part in parts[:-1]:
            leaf = leaf.setdefault(part, {})
        leaf[parts[-1]] = value
    return Layer("command line", node)


def _merge(
    into: dict[str, Any], layer: Mapping[str, Any], source: str, prov: dict[Path_, str], at: Path_
) -> None:
    for key, value in layer.items():
        here = (*at, str(key))
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, source, prov, here)
            prov.setdefault(here, source)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value, source, prov, here)
            prov[here] = source
        else:
            into[key] = value
            prov[here] = source


def source_of(loc: Path_, prov: Mapping[Path_, str]) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in prov:
            return prov[loc[:n]]
    return "built-in defaults"


def gather_layers(
    *,
    site_file: Path | None = None,
    machine_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: list[str] | None = None,
) -> list[Layer]:
    """All layers. A file named explicitly must exist; the default paths are optional."""
    env = os.environ if environ is None else environ
    layers = [default_layer()]
    for explicit, env_name, default in (
        (site_file, "KIOSK_SITE_CONFIG", DEFAULT_SITE_FILE),
        (machine_file, "KIOSK_CONFIG", DEFAULT_MACHINE_FILE),
    ):
        chosen = explicit or (Path(env[env_name]) if env.get(env_name) else None)
        if chosen is not None:
            layers.append(_file_layer(chosen))
        elif default.is_file():
            layers.append(_file_layer(default))
    layers.extend(env_layers(env))
    if overrides:
        layers.append(overrides_layer(overrides))
    return layers


def merge_layers(layers: list[Layer]) -> tuple[dict[str, Any], dict[Path_, str]]:
    """The merged mapping and, for each key path, the layer that set it."""
    merged: dict[str, Any] = {}
    prov: dict[Path_, str] = {}
    for layer in layers:
        _merge(merged, layer.data, layer.source, prov, ())
    return merged, prov


@dataclass(frozen=True)
class UiHints:
    """What the first screen needs, read from the unvalidated layers. A value the schema
    would refuse falls back to the default here; the validation that follows reports it."""

    language: str = "zh_CN"
    mode: str = "kiosk"
    fullscreen: bool = True
    elder: bool = False


def ui_hints(merged: Mapping[str, Any]) -> UiHints:
    ui = merged.get("ui")
    if not isinstance(ui, Mapping):
        return UiHints()
    default = UiHints()

    def word(key: str, allowed: tuple[str, ...], fallback: str) -> str:
        value = ui.get(key, fallback)
        return value if isinstance(value, str) and value in allowed else fallback

    def flag(key: str, fallback: bool) -> bool:
        # the values pydantic's lax bool accepts (KIOSK_* variables are strings)
        value = ui.get(key, fallback)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        return False if text in _FALSE else fallback

    return UiHints(
        language=word("language", ("zh_CN", "en"), default.language),
        mode=word("mode", ("kiosk", "window"), default.mode),
        fullscreen=flag("fullscreen", default.fullscreen),
        elder=flag("elder_mode_default", default.elder),
    )


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
