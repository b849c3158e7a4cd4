#!/usr/bin/env bash
# Build the shipped example (the reference architecture's eu-west-1 rule groups) and verify it on Suricata.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh aws
rulec build examples/reference/policy.yaml -o examples/reference/out
rulec verify examples/reference/policy.yaml --problems
