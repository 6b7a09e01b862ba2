#!/usr/bin/env bash
# The quick start's first command: install what is missing, then run the main job (`reg demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
node dist/src/cli/main.js demo "$@"
