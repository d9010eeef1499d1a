#!/usr/bin/env bash
# Installs the system packages SubnetDHT needs on a fresh Debian machine.
# Idempotent and quiet when everything is already there. Needs root (or sudo).
set -euo pipefail

# iproute2 and iptables: the network-namespace test network and fault suite (loss, delay, partitions).
# chromium and python3-websocket: the status page's browser test (headless, over the DevTools protocol).
# python3-venv: the Python client's test installs it with pip into a fresh environment.
# systemd and man-db: the install test runs systemd-analyze verify on the unit and man -l on the page.
packages=(libsodium-dev liblz4-dev pkg-config python3-libtorrent iproute2 iptables chromium python3-websocket python3-venv
          systemd man-db)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
