#!/usr/bin/env bash
# Install what the tests need (Suricata, rulec with its dev extras) and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
python3 -m pytest "$@"
