#!/usr/bin/env bash
# Installs subnet-dht: the binary, its systemd unit, a commented default config, its man page
# and its shell completions (bash, zsh, fish).
#
#   bash Bootstrap/install.sh [--prefix /usr/local] [--sysconfdir /etc] [--binary PATH]
#   DESTDIR=/tmp/pkg bash Bootstrap/install.sh --prefix /usr     # for a package: staged, as packagers do
#   systemctl daemon-reload && systemctl enable --now subnet-dht  # then, on the host
#
# Without --binary it builds the release binary first (a few minutes from cold). An existing
# config file is kept (the new default goes beside it as config.yaml.new). Every file it lays
# down is listed, as installed (without DESTDIR), in PREFIX/share/subnet-dht/installed-files,
# which Bootstrap/uninstall.sh removes and nothing else: never a node's state directory.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
sysconfdir=/etc
binary=
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --sysconfdir) sysconfdir=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: install.sh [--prefix DIR] [--sysconfdir DIR] [--binary PATH]" >&2; exit 64 ;;
    esac
done
destdir=${DESTDIR:-}
if [ -z "$binary" ]; then
    # The Swift runtime linked in: the installed binary runs without a toolchain on the host.
    swift build -c release --static-swift-stdlib --product subnet-dht >&2
    binary="$(swift build -c release --static-swift-stdlib --show-bin-path)/subnet-dht"
fi
[ -x "$binary" ] || { echo "install.sh: no executable at $binary" >&2; exit 66; }

manifest="$prefix/share/subnet-dht/installed-files"
installed=()
# put MODE SOURCE TARGET: one file, its directories made as needed, its path noted.
put() {
    install -D -m "$1" "$2" "$destdir$3"
    installed+=("$3")
}
completions=$(mktemp -d)
trap 'rm -rf "$completions"' EXIT
for shell in bash zsh fish; do
    "$binary" --generate-completion-script "$shell" > "$completions/$shell"
done
sed -e "s|@BINDIR@|$prefix/bin|g" -e "s|/etc/subnet-dht/|$sysconfdir/subnet-dht/|g" Bootstrap/systemd/subnet-dht.service > "$completions/unit"
config="$sysconfdir/subnet-dht/config.yaml"
# An operator's config is never overwritten.
[ -e "$destdir$config" ] && config="$config.new"

put 755 "$binary" "$prefix/bin/subnet-dht"
put 644 "$completions/unit" "$prefix/lib/systemd/system/subnet-dht.service"
put 644 Bootstrap/systemd/config.yaml "$config"
put 644 docs/man/subnet-dht.1 "$prefix/share/man/man1/subnet-dht.1"
put 644 "$completions/bash" "$prefix/share/bash-completion/completions/subnet-dht"
put 644 "$completions/zsh" "$prefix/share/zsh/site-functions/_subnet-dht"
put 644 "$completions/fish" "$prefix/share/fish/vendor_completions.d/subnet-dht.fish"

mkdir -p "$(dirname "$destdir$manifest")"
# Each line: a path, and for the config the checksum it was installed with, so that the
# uninstall removes it only while unchanged.
{
    for path in "${installed[@]}"; do
        case "$path" in
        "$config") echo "$path $(sha256sum < "$destdir$path" | cut -d' ' -f1)" ;;
        *) echo "$path" ;;
        esac
    done
    echo "$manifest"
} > "$destdir$manifest"
echo "installed $(( ${#installed[@]} + 1 )) files under ${destdir}${prefix} (list: $manifest)"
