"""Typed settings schema of a kiosk (pydantic v2).

Every model forbids unknown keys so a typo in a TOML file is an error, not a silently
ignored setting. ``CONFIG_VERSION`` (kept in :mod:`config.migrations`) is the schema
version this code reads; older files are migrated there before validation.

Devices are declared as ``{driver, url, options}``. The URL names the device the way
pyserial's ``serial_for_url`` does (``/dev/ttyUSB0``, ``socket://host:port``, ``spy://…``,
``sim://idcard?card=…``) so the same driver code runs against hardware or an emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.migrations import CONFIG_VERSION

#: URL schemes a device may be named by. Serial schemes are pyserial's own plus ``sim``
#: (in-process emulators, see devices.urlhandler); the others are for printers, cameras
#: and input devices.
DEVICE_URL_SCHEMES = frozenset(
    {
        "socket",  # raw TCP (ESC/POS on 9100, serial servers)
        "rfc2217",
        "loop",
        "spy",  # hex wiretap around another URL, for technicians
        "alt",
        "hwgrep",
        "sim",  # in-process emulator
        "usb",
        "cups",
        "evdev",
        "rtsp",
        "http",
        "https",
        "file",
        "v4l2",
        "camera",
    }
)


def check_device_url(value: str) -> str:
    """Validate a device URL; raise ``ValueError`` with a reason a technician can act on."""
    url = value.strip()
    if not url:
        raise ValueError("device URL is empty")
    if url.startswith("/"):
        return url  # a device node or a pty path
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url:
        raise ValueError(
            f"{url!r} is not a device URL (expected a path like /dev/ttyUSB0 or a URL like "
            "socket://host:port or sim://idcard)"
        )
    scheme = parts.scheme.lower()
    if scheme not in DEVICE_URL_SCHEMES:
        known = ", ".join(sorted(DEVICE_URL_SCHEMES))
        raise ValueError(f"unknown device URL scheme {scheme!r} (known: {known})")
    if scheme in {"socket", "rfc2217"}:
        if not parts.hostname:
            raise ValueError(f"{url!r} names no host (expected {scheme}://host:port)")
        try:
            port = parts.port
        except ValueError as err:
            raise ValueError(f"{url!r} has an invalid port") from err
        if port is None:
            raise ValueError(f"{url!r} names no port (expected {scheme}://host:port)")
    if scheme == "sim" and not parts.netloc:
        raise ValueError(f"{url!r} names no emulator (expected sim://KIND, e.g. sim://idcard)")
    if scheme == "spy":
        inner = url[len("spy://") :]
        if not inner:
            raise ValueError("spy:// needs the URL or path of the device to watch")
    return url


DeviceUrl = Annotated[str, AfterValidator(check_device_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(_Strict):
    """One configured device."""

    driver: Literal[
        "idcard_sam",
        "receipt_escpos",
        "a4_cups",
        "a4_pdf_dir",
        "scanner_serial",
        "scanner_wedge",
        "camera",
        "document_camera",
    ]
    url: DeviceUrl
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class PlatformConfig(_Strict):
    """How to reach the central platform (or the sandbox standing in for it)."""

    url: str = "http://127.0.0.1:8765"
    kiosk_id: str = "kiosk-dev-0001"
    #: File holding the kiosk's enrolment secret (0600). Never put the secret itself in a
    #: site file that is shared between kiosks.
    secret_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: True, False, or a CA bundle path. Only honoured for https URLs.
    verify_tls: bool | Path = True
    #: Seconds between heartbeats (device states, consumables, queue depth) while running.
    heartbeat_s: float = Field(default=30.0, gt=0)
    #: Seconds between cheap health probes while the link is down.
    probe_interval_s: float = Field(default=5.0, gt=0)
    #: On-disk copy of the service catalogue, shown when the kiosk starts offline.
    catalog_cache: Path = Path("var/catalog.json")


class OutboxConfig(_Strict):
    """The durable outbox of everything that must reach the platform."""

    path: Path = Path("var/outbox.sqlite3")
    #: AES-GCM key file (created 0600 when missing). The key never enters the database.
    key_file: Path = Path("var/outbox.key")
    retention_hours: float = Field(default=72.0, ge=0)
    #: Bounded offline window: stop taking submissions beyond any of these.
    max_pending: int = Field(default=500, ge=1)
    max_age_hours: float = Field(default=24.0, gt=0)
    min_free_mb: int = Field(default=200, ge=0)
    #: Keys from configuration instead of ``key_file`` (base64 of 32 bytes): the current
    #: key, and retired keys still needed to open older rows.
    key_b64: str | None = None
    retired_keys_b64: list[str] = Field(default_factory=list)
    #: Sender: parallel deliveries (one item per session at a time keeps sessions ordered)
    #: and the retry backoff after a 5xx or network error.
    sender_workers: int = Field(default=4, ge=1, le=32)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=300.0, gt=0)


class LoggingConfig(_Strict):
    dir: Path = Path("var/log")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(default=5_000_000, ge=10_000)
    backups: int = Field(default=5, ge=0)
    #: Log the hex of device traffic (headers only; payloads carrying personal data are
    #: always redacted).
    wire: bool = False


class SessionConfig(_Strict):
    idle_timeout_s: float = Field(default=60.0, gt=0)
    idle_warning_s: float = Field(default=45.0, gt=0)


class EvaluationConfig(_Strict):
    """好差评 satisfaction code order; PROTOCOLS.md §6 documents two opposite orders.

    ``five_is_best``: the national interface (1 非常不满意 … 5 非常满意).
    ``one_is_best``: GB/T 39046-2020 table A.8 (1 非常满意 … 5 非常不满意).
    """

    code_order: Literal["five_is_best", "one_is_best"] = "five_is_best"
    channel_code: str = "5"  # 政务大厅其他终端


class UiConfig(_Strict):
    language: Literal["zh_CN", "en"] = "zh_CN"
    mode: Literal["kiosk", "window"] = "kiosk"
    fullscreen: bool = True
    #: PIN for the technician gesture; a deployment must override it.
    technician_pin: str = "000000"
    elder_mode_default: bool = False


class RemoteHelpConfig(_Strict):
    """Remote video help (远程帮办, docs/remote-help.md): the call's video and audio."""

    #: False: the help session carries no media (control and the masked view only).
    video: bool = True
    width: int = Field(default=640, ge=160, le=1920)
    height: int = Field(default=480, ge=120, le=1080)
    fps: int = Field(default=15, ge=1, le=30)
    max_bitrate_kbps: int = Field(default=500, ge=50, le=4000)
    #: Pictures a second converted for the app's video corner and local preview.
    picture_fps: float = Field(default=10.0, gt=0, le=30)
    #: Two-way audio with the call's video: the assistant's voice on ``speaker``, the
    #: citizen's from ``microphone`` (ALSA PCM names: "default", "plughw:1,0", or a name
    #: defined in /etc/asound.conf). A device that does not open leaves that direction
    #: silent; the video goes on. False: no audio devices are opened.
    audio: bool = True
    speaker: str = Field(default="default", min_length=1, max_length=200)
    microphone: str = Field(default="default", min_length=1, max_length=200)


class Settings(_Strict):
    """The whole configuration of one kiosk."""

    config_version: int = CONFIG_VERSION
    kiosk_id: str = "kiosk-dev-0001"
    site: str = "dev"
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    platform: PlatformConfig = PlatformConfig()
    outbox: OutboxConfig = OutboxConfig()
    logging: LoggingConfig = LoggingConfig()
    session: SessionConfig = SessionConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    ui: UiConfig = UiConfig()
    remote_help: RemoteHelpConfig = RemoteHelpConfig()
