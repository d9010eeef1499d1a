#!/usr/bin/env bash
# Removes what Bootstrap/install.sh installed, as its list says, and nothing else: a node's
# state directory (identity, snapshots) stays, and so does a config file changed since it was
# installed.
#
#   bash Bootstrap/uninstall.sh [--prefix /usr/local]      # DESTDIR as for install.sh
set -euo pipefail
prefix=/usr/local
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    *) echo "usage: uninstall.sh [--prefix DIR]" >&2; exit 64 ;;
    esac
done
destdir=${DESTDIR:-}
manifest="$destdir$prefix/share/subnet-dht/installed-files"
[ -f "$manifest" ] || { echo "uninstall.sh: nothing installed under $destdir$prefix ($manifest is missing)" >&2; exit 66; }
removed=0
while read -r path checksum; do
    [ -n "$path" ] || continue
    case "$path" in
    /*subnet-dht*) ;;
    *) echo "uninstall.sh: skipping $path: not one of ours" >&2; continue ;;
    esac
    [ -e "$destdir$path" ] || [ -L "$destdir$path" ] || continue
    if [ -n "$checksum" ] && [ "$(sha256sum < "$destdir$path" | cut -d' ' -f1)" != "$checksum" ]; then
        echo "keeping $path: changed since it was installed" >&2
        continue
    fi
    rm -f "$destdir$path"
    removed=$((removed + 1))
    # Directories of our own (PREFIX/share/subnet-dht, /etc/subnet-dht) go once empty.
    directory=$(dirname "$path")
    [ "$(basename "$directory")" != subnet-dht ] || rmdir "$destdir$directory" 2>/dev/null || true
done < "$manifest"
echo "removed $removed files under ${destdir}${prefix}"
