#!/usr/bin/env bash
# Regenerates docs/man/subnet-dht.1 from the command's own help, with swift-argument-parser's
# generate-manual plugin (its first run builds the plugin's tool: a few minutes). Run it after
# changing a command or an option, and commit the page; Tests/Process/install.py fails while
# an option is missing from it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swift package --allow-writing-to-directory "$out" generate-manual --output-directory "$out" \
    --authors "the SubnetDHT developers" --date "$(git log -1 --format=%cs 2>/dev/null || date +%F)" > /dev/null
cp "$out/subnet-dht.1" docs/man/subnet-dht.1
echo "docs/man/subnet-dht.1: $(wc -l < docs/man/subnet-dht.1) lines"
