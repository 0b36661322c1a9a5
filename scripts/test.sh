#!/usr/bin/env bash
# Install what is needed (scripts/setup.sh), then run the whole test suite: lint, format check, strict typing, import boundaries, pytest.
# Every stage runs even if an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/.venv/bin:$PATH"
export QT_QPA_PLATFORM=offscreen

status=0
stage() {
  local name=$1; shift
  echo "=== $name: $*"
  if "$@"; then echo "=== $name: ok"; else echo "=== $name: FAILED"; status=1; fi
}

stage ruff-lint ruff check .
stage ruff-format ruff format --check .
stage mypy mypy
stage import-boundaries lint-imports
stage pytest python -m pytest -p no:cacheprovider "$@"
exit $status
