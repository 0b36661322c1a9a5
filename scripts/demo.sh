#!/usr/bin/env bash
# Install what is needed (scripts/setup.sh), then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kiosk demo "$@"
