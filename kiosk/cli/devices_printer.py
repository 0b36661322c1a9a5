"""Device-class commands attached to ``kiosk devices`` (see kiosk.cli.devices)."""

from __future__ import annotations
