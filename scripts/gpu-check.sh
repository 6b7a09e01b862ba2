#!/usr/bin/env bash
# Issue 16's device run, in one command with a time limit per step, for a GPU machine that has CUDA and
# a pip PyTorch but no Node.js and no network. Prepare here first:
#
#   npm run build && bash scripts/gpu-pack.sh         # .gpu/carry.tar.xz: Node, its headers, node_modules, dist
#   bash scripts/gpu-check.sh --rehearse               # every step on this CPU (no GPU needed), same script
#
# then on the device (carry ".gpu"):  bash scripts/gpu-check.sh    (results under $OUT, default ./gpu-check-out)
#
# Steps, each recorded in $OUT/gpu-check.json (name, ok, seconds, detail) and logged to $OUT/gpu-check.log:
#   preflight  nvidia-smi sees a GPU, the pip torch has CUDA, Node runs (from .gpu/ when carried): seconds
#   build      the addon against the pip torch's libtorch (native/find-libtorch.mjs), with a version and CUDA summary
#   tests      the device-aware tests on cuda:0 (REGTS_TEST_DEVICE=cuda) against the committed fixtures
#   bench      npm run bench -- train-step sample on the GPU against PyTorch on the same GPU
# On a machine without a GPU it stops at preflight within seconds, exit code 3, saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=gpu
case "${1:-}" in
  --rehearse) mode=rehearse ;;
  '') ;;
  *)
    echo "usage: bash scripts/gpu-check.sh [--rehearse]" >&2
    exit 2
    ;;
esac
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
log=$OUT/gpu-check.log
: > "$log"
steps=()
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

say() { echo "gpu-check: $*" | tee -a "$log"; }

json_string() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

write_json() { # $1: overall ok (true/false)
  local joined
  joined=$(IFS=,; echo "${steps[*]:-}")
  cat > "$OUT/gpu-check.json.tmp" << EOF
{"format": "reg-ts/gpu-check@1", "started": "$started", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "mode": "$mode",
 "device": $(json_string "${device_name:-none}"), "ok": $1, "steps": [$joined]}
EOF
  mv "$OUT/gpu-check.json.tmp" "$OUT/gpu-check.json"
}

record() { # name ok seconds detail
  steps+=("{\"name\": \"$1\", \"ok\": $2, \"seconds\": $3, \"detail\": $(json_string "$4")}")
}

fail() { # name seconds detail [exit code]
  record "$1" false "$2" "$3"
  say "FAILED at $1: $3"
  write_json false
  exit "${4:-1}"
}

# run_step name limit_s command…: the command's output goes to the log; a timeout is a failure.
run_step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  say "step $name (limit ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
  local rc=$?
  local took=$((SECONDS - t0))
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then fail "$name" "$took" "timed out after ${limit} s (see gpu-check.log)"; fi
  if [ $rc -ne 0 ]; then fail "$name" "$took" "exit code $rc (see gpu-check.log)"; fi
  record "$name" true "$took" "$*"
  say "step $name done in ${took} s"
}

# ---- preflight ---------------------------------------------------------------------------------
t0=$SECONDS
if [ "$mode" = gpu ]; then
  command -v nvidia-smi > /dev/null || fail preflight $((SECONDS - t0)) "no nvidia-smi: this machine has no NVIDIA driver (on a CPU machine, use --rehearse)" 3
  device_name=$(timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2> /dev/null | head -1)
  [ -n "$device_name" ] || fail preflight $((SECONDS - t0)) "nvidia-smi lists no GPU" 3
  timeout 60 python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>> "$log" ||
    fail preflight $((SECONDS - t0)) "python3's torch cannot use a GPU (no pip torch with CUDA, or no device visible)" 3
fi
if [ -f .gpu/carry.tar.xz ] && [ ! -x .gpu/node/bin/node ]; then
  say "unpacking .gpu/carry.tar.xz"
  tar -xJf .gpu/carry.tar.xz || fail preflight $((SECONDS - t0)) "cannot unpack .gpu/carry.tar.xz"
fi
[ -x .gpu/node/bin/node ] && export PATH="$root/.gpu/node/bin:$PATH"
command -v node > /dev/null || fail preflight $((SECONDS - t0)) "no Node.js: run scripts/gpu-pack.sh on the CPU machine and carry .gpu" 3
[ -f dist/src/torch/index.js ] || fail preflight $((SECONDS - t0)) "no dist/: npm run build, then scripts/gpu-pack.sh" 3
record preflight true $((SECONDS - t0)) "$(node -v); ${device_name:-no GPU (rehearsal)}"
say "preflight: node $(node -v), device ${device_name:-none (rehearsal on the CPU)}"

# ---- build -------------------------------------------------------------------------------------
run_step build 900 env REGTS_REBUILD=1 node native/build.mjs
run_step summary 120 node --input-type=module -e "
  const t = await import('$root/dist/src/torch/index.js');
  const { writeFileSync } = await import('node:fs');
  const info = { ...t.buildInfo(), cudaAvailable: t.cudaAvailable() };
  writeFileSync('$OUT/build.json', JSON.stringify(info, null, 2) + '\n');
  console.log(JSON.stringify(info));
  if ('$mode' === 'gpu' && !info.cudaAvailable) { console.error('the addon sees no CUDA device'); process.exit(1); }"

# ---- tests on the device -----------------------------------------------------------------------
test_device=cuda
[ "$mode" = rehearse ] && test_device=cpu
run_step tests 420 env REGTS_TEST_DEVICE=$test_device node scripts/run-tests.mjs \
  src/models/sit.test src/diffusion/samplers.test src/diffusion/objective.test

# ---- benchmarks against PyTorch on the same device ---------------------------------------------
# (a rehearsal times only the train step: sampling at batch 1 takes minutes per side on a CPU)
benchmarks="train-step sample"
[ "$mode" = rehearse ] && benchmarks=train-step
# shellcheck disable=SC2086 # one benchmark per word
run_step bench 600 env REG_PYTHON="$(command -v python3)" node dist/bench/run.js $benchmarks --quick
grep -E '^(== |ratio |device |final |reg-ts|PyTorch)' "$log" > "$OUT/bench.txt" || true

write_json true
say "all steps passed: $OUT/gpu-check.json"
