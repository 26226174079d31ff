#!/usr/bin/env bash
# scripts/gpu-check.sh [--quick] OUTDIR — the one-shot GPU check (bench/gpu-check.ts), for a machine
# lent for minutes: correctness of every kernel family on its adapter against float64 references,
# matmul and every SegAN conv layer in GFLOP/s, the D+G step in ms, and PyTorch's step beside it when
# python3 has torch. Writes OUTDIR/gpu-check.json and OUTDIR/gpu-check.log; exit 0 when every family
# is correct. Runs from a checkout (node and npm packages installed) or from the offline bundle
# (npm run bundle: dawngrad/scripts/gpu-check.sh, its own Node). --quick: small shapes (a couple of
# minutes on lavapipe; CI runs it). The full check is sized to end within 8 minutes on a GPU.
set -uo pipefail
usage() { echo "usage: gpu-check.sh [--quick] OUTDIR" >&2; }
quick=()
out=""
for a in "$@"; do
  case "$a" in
    --quick) quick=(--quick) ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "gpu-check: unknown option $a" >&2; usage; exit 2 ;;
    *) if [ -z "$out" ]; then out=$a; else echo "gpu-check: one OUTDIR only (got '$out' and '$a')" >&2; exit 2; fi ;;
  esac
done
[ -n "$out" ] || { usage; exit 2; }
mkdir -p "$out" || { echo "gpu-check: cannot create $out" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -x "$here/node/bin/node" ]; then
  # the offline bundle: its own Node and Vulkan loader
  node="$here/node/bin/node"
  app="$here/app"
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  node=$(command -v node) || { echo "gpu-check: no node on PATH (use the offline bundle: npm run bundle)" >&2; exit 2; }
  app="$here"
fi
# The NVIDIA driver's Vulkan file where GPU containers keep it, when the loader is not told otherwise.
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv" ]; then export VK_DRIVER_FILES=$nv; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
{
  echo "== gpu-check ${quick[*]} $(date -u +%FT%TZ) on $(uname -n), node $("$node" --version)"
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  cd "$app" && timeout 480 "$node" node_modules/tsx/dist/cli.mjs bench/gpu-check.ts --out "$out" "${quick[@]}"
} 2>&1 | grep --line-buffered -v '^Warning: maxDynamic' | tee "$out/gpu-check.log"
exit "${PIPESTATUS[0]}"
