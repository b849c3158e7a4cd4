#!/usr/bin/env bash
# Set-up shared by scripts/example.sh and scripts/test.sh: Suricata 7 and 8 (scripts/suricata.sh), and rulec
# installed into a virtual environment, .venv (Debian 12 and 13 refuse pip installs into the system Python).
# Usage: bash scripts/setup.sh [EXTRA]   (EXTRA: aws, the default, or dev)
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"

bash scripts/suricata.sh

venv=${RULEC_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then  # Debian's python3 needs python3-venv for this
    rm -rf "$venv"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[${1:-aws}]"
