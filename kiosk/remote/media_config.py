"""The settings of a help session's media, kept apart from :mod:`kiosk.remote.media` so the
runtime can describe a call on the GUI thread without importing aiortc (it loads slowly;
the remote-help thread imports it when the first assistant joins). Plain data, any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MediaConfig:
    width: int = 640
    height: int = 480
    fps: int = 15
    max_bitrate: int = 500_000
    #: TURN only (``iceTransportPolicy: relay``): for halls whose NAT blocks direct paths
    relay_only: bool = False
    #: ``[{"urls": [...], "username": ..., "credential": ...}]`` as the platform issues them
    ice_servers: tuple[dict[str, Any], ...] = ()
