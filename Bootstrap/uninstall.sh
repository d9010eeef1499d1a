#!/usr/bin/env bash
# Removes what Bootstrap/install.sh installed, as its list says, and nothing else: a node's
# state directory (identity, snapshots) stays.
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
while IFS= read -r path; do
    [ -n "$path" ] || continue
    case "$path" in
    "$prefix"/*) ;;
    *) echo "uninstall.sh: skipping $path: not under $prefix" >&2; continue ;;
    esac
    if [ -e "$destdir$path" ] || [ -L "$destdir$path" ]; then
        rm -f "$destdir$path"
        removed=$((removed + 1))
    fi
done < "$manifest"
# The list's own directory was ours alone.
rmdir "$destdir$prefix/share/subnet-dht" 2>/dev/null || true
echo "removed $removed files under ${destdir}${prefix}"
