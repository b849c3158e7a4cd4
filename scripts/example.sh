#!/usr/bin/env bash
# Build the shipped example (the reference architecture's eu-west-1 rule groups) and verify it on Suricata 8,
# the version AWS Network Firewall runs. Everything installs into .venv (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh aws
export RULEC_SURICATA=${RULEC_SURICATA:-suricata8}
.venv/bin/rulec build examples/reference/policy.yaml -o examples/reference/out
.venv/bin/rulec verify examples/reference/policy.yaml --problems
