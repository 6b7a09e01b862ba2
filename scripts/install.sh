#!/usr/bin/env bash
# Installs everything reg-ts needs on a Debian machine: libtorch (Debian's libtorch-dev), an optimised
# BLAS behind it (OpenBLAS), the Fashion-MNIST package used by the demo, the npm packages, the native
# addon and the TypeScript build. Safe to run again: it only installs what is missing.
# `--bench` adds python3-torch for the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

# libblas3 is netlib's reference BLAS: never selected (OpenBLAS below wins), but kept installed so the
# test suite can check that reg warns when a process runs on it
apt_packages=(libtorch-dev libgloo-dev dataset-fashion-mnist g++ make python3 python3-numpy libblas3 chromium)
# --bench: also Debian's PyTorch, the other side of every benchmark (npm run bench)
if [ "${1:-}" = "--bench" ]; then apt_packages+=(python3-torch); fi

# Debian's libtorch calls whatever libblas.so.3 the alternatives system points at, and libtorch-dev
# alone brings netlib's reference BLAS (libblas3): a 1024³ GEMM at ~6 GFLOP/s instead of ~330 with
# OpenBLAS on this machine kind. Install OpenBLAS (pthread build, the fastest measured; BENCHMARKS.md)
# unless another optimised BLAS (OpenBLAS openmp, BLIS, MKL) already provides libblas.so.3.
OPENBLAS=libopenblas0-pthread
blas_selection() { update-alternatives --get-selections 2>/dev/null | awk '$1 ~ /^libblas\.so\.3/ { print $1, $3; exit }'; }
is_reference_blas() { case "$1" in "" | */blas/libblas.so.3) return 0 ;; *) return 1 ;; esac; }
read -r blas_name blas_target <<<"$(blas_selection)" || true
if is_reference_blas "${blas_target:-}"; then apt_packages+=("$OPENBLAS"); fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "reg-ts: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

read -r blas_name blas_target <<<"$(blas_selection)" || true
if is_reference_blas "${blas_target:-}" && [ -n "${blas_name:-}" ]; then
  # the reference BLAS was chosen by hand (manual mode): OpenBLAS is installed but not selected
  openblas_target=$(update-alternatives --list "$blas_name" | grep '/openblas-pthread/' | head -n 1)
  if [ -n "$openblas_target" ]; then
    echo "reg-ts: selecting OpenBLAS for libblas.so.3 (was netlib's reference BLAS)"
    $SUDO update-alternatives --set "$blas_name" "$openblas_target" >/dev/null
    read -r blas_name blas_target <<<"$(blas_selection)" || true
  fi
fi
if is_reference_blas "${blas_target:-}"; then
  echo "reg-ts: libblas.so.3 still points at netlib's reference BLAS (${blas_target:-none}); install $OPENBLAS" >&2
  exit 1
fi
echo "reg-ts: BLAS behind libtorch: $blas_target"

npm ci --no-audit --no-fund
npm run build
