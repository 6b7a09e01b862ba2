#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has CUDA and a pip PyTorch but no Node.js
# and no network (the device tool of issue 16), into .gpu/carry.tar.xz (ignored by git; carry ".gpu"):
#
#   .gpu/node/bin/node              this machine's Node binary
#   .gpu/node/include/node/*        the Node-API headers and node-gyp's gypi files (--nodedir for the addon build)
#   node_modules/…                  the production dependencies, without the two that only plots and the
#                                   emoji dataset use (echarts + zrender, emoji-datasource-google: 150 MB)
#   dist/…                          the compiled TypeScript (npm run build)
#
# Run it here after `npm run build`; it prints the archive's size, which must leave room for the working
# tree within the device tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/src/cli/main.js ] || { echo "gpu-pack: dist/ is missing: run npm run build first" >&2; exit 1; }
node_bin=$(command -v node)
headers="$(dirname "$(dirname "$(readlink -f "$node_bin")")")/include/node"
[ -f "$headers/node_api.h" ] || { echo "gpu-pack: no Node-API headers at $headers (Debian: apt-get install libnode-dev)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/.gpu/node/bin" "$stage/.gpu/node/include/node"
cp "$(readlink -f "$node_bin")" "$stage/.gpu/node/bin/node"
for f in node_api.h node_api_types.h js_native_api.h js_native_api_types.h common.gypi config.gypi; do
  cp "$headers/$f" "$stage/.gpu/node/include/node/"
done

deps=$(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$PWD/##" | grep '^node_modules/' |
  grep -v -E '^node_modules/(echarts|zrender|emoji-datasource-google)(/|$)' | sort -u)
mkdir -p .gpu
# shellcheck disable=SC2086 # one path per word
tar -cf - dist $deps -C "$stage" .gpu/node | xz -T2 -6 > .gpu/carry.tar.xz.tmp
mv .gpu/carry.tar.xz.tmp .gpu/carry.tar.xz
echo "gpu-pack: .gpu/carry.tar.xz $(du -h .gpu/carry.tar.xz | cut -f1) ($(node -v), $(echo "$deps" | wc -l) packages)"
