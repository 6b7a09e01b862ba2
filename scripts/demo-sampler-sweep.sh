#!/usr/bin/env bash
# Scores one trained demo model under several samplers: for each setting, `reg sample` draws 1,000
# class-balanced images (seed 1, as reg demo's evaluation) and `reg eval --embedded` gives their
# FD-MobileNetV2, precision/recall and class consistency. Prints a markdown table (docs/demo-tuning.md).
#
#   bash scripts/demo-sampler-sweep.sh runs/demo/run runs/demo-sweep
#
# Rerunning reuses finished samples (reg sample resumes). Each setting takes about a minute on 2 cores.
set -euo pipefail
run=${1:?usage: demo-sampler-sweep.sh <run or checkpoint dir> <out dir>}
out=${2:?usage: demo-sampler-sweep.sh <run or checkpoint dir> <out dir>}
reg="node $(dirname "$0")/../dist/src/cli/main.js"
settings=(
  "sde-50-cfg4-0.85|--sampler sde --steps 50 --cfg 4 --guidance-high 0.85"
  "sde-100-cfg3-0.85|--sampler sde --steps 100 --cfg 3 --guidance-high 0.85"
  "heun-25-cfg2-0.85|--sampler heun --steps 25 --cfg 2 --guidance-high 0.85"
  "heun-25-cfg3-0.85|--sampler heun --steps 25 --cfg 3 --guidance-high 0.85"
  "heun-25-cfg4-0.85|--sampler heun --steps 25 --cfg 4 --guidance-high 0.85"
  "heun-50-cfg3-0.85|--sampler heun --steps 50 --cfg 3 --guidance-high 0.85"
  "heun-25-cfg3-1|--sampler heun --steps 25 --cfg 3 --guidance-high 1"
  "heun-15-cfg3-1|--sampler heun --steps 15 --cfg 3 --guidance-high 1"
  "heun-10-cfg3-1|--sampler heun --steps 10 --cfg 3 --guidance-high 1"
  "euler-25-cfg3-1|--sampler euler --steps 25 --cfg 3 --guidance-high 1"
  "euler-25-cfg4-1|--sampler euler --steps 25 --cfg 4 --guidance-high 1"
  "euler-25-cfg5-1|--sampler euler --steps 25 --cfg 5 --guidance-high 1"
)
mkdir -p "$out"
for s in "${settings[@]}"; do
  name=${s%%|*}
  # shellcheck disable=SC2086 # the options are words
  $reg sample --ckpt "$run" --out "$out/$name" --num 1000 --labels balanced --seed 1 --batch 100 --grid 100 ${s#*|} >"$out/$name.log" 2>&1
  $reg eval --embedded --samples "$out/$name" --out "$out/$name.eval.json" >>"$out/$name.log" 2>&1
done
node --input-type=module -e '
import { readFileSync } from "node:fs";
const [out, ...names] = process.argv.slice(1);
console.log("| sampler, steps, guidance scale, interval t ≤ | FD-MobileNetV2 | precision | recall | class consistency |");
console.log("| --- | --- | --- | --- | --- |");
for (const n of names) {
  const r = JSON.parse(readFileSync(`${out}/${n}.eval.json`, "utf8"));
  const f = r.frechet;
  console.log(`| ${n} | ${f.value.toFixed(1)} | ${f.precision.toFixed(3)} | ${f.recall.toFixed(3)} | ${(r.classConsistency.score * 100).toFixed(1)} % |`);
}' "$out" "${settings[@]%%|*}"
