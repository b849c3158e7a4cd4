#!/usr/bin/env bash
# Install what the tests need (Suricata 7 and 8, rulec with its dev extras in .venv) and run the whole suite.
# Suricata-backed tests run once on each version; none of them skips.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/python -m pytest "$@"
