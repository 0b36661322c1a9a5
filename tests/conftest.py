"""Every Qt test runs offscreen (no display needed), whichever directory pytest starts from:
tests/kiosk and tests/remote both build the app's windows."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
