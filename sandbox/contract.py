"""The OpenAPI document of Platform API v1, generated from the app and kept in the repo.

``python -m sandbox.contract`` rewrites ``sandbox/openapi.json``; a test fails when the
committed file differs from :func:`openapi_document`, so the contract the kiosk's client is
written against never drifts from what the sandbox serves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sandbox.app import create_app

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def openapi_document() -> dict[str, Any]:
    return create_app(None).openapi()


def render() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> int:
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OPENAPI_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
