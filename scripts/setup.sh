#!/usr/bin/env bash
# Set-up shared by scripts/example.sh and scripts/test.sh: Suricata (Debian backports) and rulec.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v suricata >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  codename=$(. /etc/os-release; echo "$VERSION_CODENAME")
  if [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources \
      | sed "s/^Suites:.*/Suites: ${codename}-backports/" | $sudo tee /etc/apt/sources.list.d/backports.sources >/dev/null
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -t "${codename}-backports" suricata >/dev/null
fi
suricata -V

python3 -m pip install --quiet --disable-pip-version-check -e ".[${1:-aws}]"
