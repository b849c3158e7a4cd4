#!/usr/bin/env bash
# Provide Suricata 7 and Suricata 8 for rulec verify and its tests, on Debian 12 (bookworm) or 13 (trixie).
#
#   Debian 12: Suricata 7.0.x from bookworm-backports on the host; Suricata 8.0.x from trixie-backports in a
#              minimal Debian 13 tree made with debootstrap.
#   Debian 13: Suricata 8.0.x from trixie-backports on the host; Suricata 7.0.x from trixie's main suite in a
#              minimal Debian 13 tree.
#
# The tree is never entered with chroot: its own dynamic loader runs its suricata binary with its own
# libraries, so the binary sees the host's files (pcaps, rules, logs) at their real paths and needs no mounts
# and no root at run time. Two wrappers are written, `suricata7` and `suricata8`, in $RULEC_SURICATA_BIN
# (default /usr/local/bin). Safe to run again: each step is skipped when its result is already there.
set -euo pipefail

bin=${RULEC_SURICATA_BIN:-/usr/local/bin}
tree=${RULEC_SURICATA_TREE:-/var/cache/rulec/debian13}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
codename=$(. /etc/os-release; echo "$VERSION_CODENAME")
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

apt_install() {  # apt_install SUITE PACKAGE...
  local suite=$1; shift
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -t "$suite" "$@" >/dev/null
}

host_suricata() {  # install the host's suricata from SUITE unless it is already the wanted major version
  local suite=$1 major=$2
  if command -v suricata >/dev/null 2>&1 && suricata -V 2>/dev/null | grep -q "version ${major}\."; then return; fi
  if [ "$suite" != "$codename" ] && [ ! -f "/etc/apt/sources.list.d/${suite}.sources" ]; then
    sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources | sed "s/^Suites:.*/Suites: ${suite}/" \
      | $sudo tee "/etc/apt/sources.list.d/${suite}.sources" >/dev/null
  fi
  $sudo apt-get update -qq
  apt_install "$suite" suricata
}

tree_suricata() {  # install suricata from SUITE into the Debian 13 tree
  local suite=$1 major=$2
  if [ -x "$tree/usr/bin/suricata" ] && "$bin/suricata${major}" -V 2>/dev/null | grep -q "version ${major}\."; then
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || { $sudo apt-get update -qq; apt_install "$codename" debootstrap; }
  if [ ! -x "$tree/usr/bin/apt-get" ]; then
    $sudo rm -rf "$tree"
    $sudo mkdir -p "$(dirname "$tree")"
    $sudo debootstrap --variant=minbase trixie "$tree" "$mirror" >/dev/null
  fi
  printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-updates trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | $sudo tee "$tree/etc/apt/sources.list.d/debian.sources" >/dev/null
  $sudo rm -f "$tree/etc/apt/sources.list"
  $sudo chroot "$tree" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo chroot "$tree" apt-get install -y -qq -t "$suite" suricata >/dev/null
}

wrap_host() {  # suricataN -> the host's suricata
  local major=$1
  printf '#!/bin/sh\n# written by rulec scripts/suricata.sh: Suricata %s on the host\nexec %s "$@"\n' \
    "$major" "$(command -v suricata)" | $sudo tee "$bin/suricata${major}" >/dev/null
  $sudo chmod 0755 "$bin/suricata${major}"
}

wrap_tree() {  # suricataN -> the tree's suricata, run by the tree's own loader with the tree's libraries
  local major=$1 arch loader
  arch=$(uname -m)-linux-gnu
  loader=$(ls "$tree"/usr/lib/"$arch"/ld-linux*.so.* 2>/dev/null | head -n 1)
  [ -n "$loader" ] || { echo "no dynamic loader in $tree" >&2; exit 1; }
  $sudo tee "$bin/suricata${major}" >/dev/null <<EOF
#!/bin/sh
# written by rulec scripts/suricata.sh: Suricata ${major} from a Debian 13 tree, run by its own loader
exec "$loader" --library-path "$tree/usr/lib/$arch:$tree/lib/$arch:$tree/usr/lib/$arch/suricata" "$tree/usr/bin/suricata" "\$@"
EOF
  $sudo chmod 0755 "$bin/suricata${major}"
}

case "$codename" in
  bookworm)
    host_suricata bookworm-backports 7; wrap_host 7
    tree_suricata trixie-backports 8; wrap_tree 8 ;;
  trixie)
    host_suricata trixie-backports 8; wrap_host 8
    tree_suricata trixie 7; wrap_tree 7 ;;
  *) echo "scripts/suricata.sh supports Debian 12 (bookworm) and 13 (trixie), not '$codename'" >&2; exit 2 ;;
esac
"$bin/suricata7" -V
"$bin/suricata8" -V
