#!/usr/bin/env bash
# `npm run bundle [-- OUTDIR]`: OUTDIR/dawngrad-linux-x64.tar.xz (OUTDIR: dist by default), dawngrad for a
# Linux x86-64 machine with no network and no Node (GPU servers in hospitals, the lent GPU machine): extract it anywhere and run
#   dawngrad/bin/segan …                   the command line
#   dawngrad/scripts/gpu-check.sh OUTDIR   the one-shot GPU check (docs/benchmarks.md)
# Inside: this machine's Node binary, the code (src/, shaders/, bin/, bench/gpu-check.ts and its
# float64 references), the runtime npm dependencies with only Dawn's linux-x64 binding, tsx (which runs
# the TypeScript sources as they are), and the Vulkan loader libvulkan.so.1. Not inside: TF.js, jax-js,
# the TypeScript compiler, vitest, or a GPU driver (the machine's own Vulkan driver is used).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bundle] %s\n' "$*" >&2; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  log "the bundle is built on Linux x86-64 (this is $(uname -s) $(uname -m))"
  exit 2
fi
[ -d node_modules/webgpu/dist/linux-x64 ] || { log "node_modules is missing: run 'npm ci' (or 'npm run setup') first"; exit 2; }
loader=$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1 2>/dev/null | head -1 || true)
[ -n "$loader" ] || { log "no Vulkan loader (libvulkan.so.1) here to put in the bundle: run 'npm run setup' first"; exit 2; }

dist=${1:-dist}
mkdir -p "$dist" || { log "cannot create $dist"; exit 2; }
dist=$(cd "$dist" && pwd)
root=$dist/dawngrad
out=$dist/dawngrad-linux-x64.tar.xz
rm -rf "$root" "$out"
mkdir -p "$root/node/bin" "$root/app" "$root/lib" "$root/bin" "$root/scripts"

log "node $(node --version) from $(node -p process.execPath)"
cp "$(node -p process.execPath)" "$root/node/bin/node"
cp -L "$loader" "$root/lib/libvulkan.so.1"

log "code"
cp -r package.json src shaders bin "$root/app/"
mkdir -p "$root/app/bench/peers" "$root/app/test/helpers" "$root/app/scripts"
cp bench/gpu-check.ts bench/options.ts "$root/app/bench/"
cp bench/peers/segan_torch.py bench/peers/torch.ts "$root/app/bench/peers/"
cp test/helpers/reference.ts test/helpers/conv-reference.ts "$root/app/test/helpers/"
cp scripts/gpu-check.sh "$root/scripts/"

log "runtime dependencies (npm ls --omit=dev), Dawn's linux-x64 binding only"
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | while read -r dir; do
  rel=${dir#"$PWD"/}
  case "$rel" in
    node_modules/@types/*) continue ;;        # types are for the compiler, not for running
    node_modules/*/node_modules/*) continue ;; # copied with their parent
  esac
  mkdir -p "$root/app/$(dirname "$rel")"
  cp -r "$rel" "$root/app/$rel"
done
find "$root/app/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +

cat > "$root/bin/segan" <<'EOF'
#!/bin/sh
# dawngrad's `segan` from the offline bundle: its own Node and Vulkan loader, the machine's GPU driver.
here=$(cd "$(dirname "$0")/.." && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/node/bin/node" "$here/app/bin/segan.mjs" "$@"
EOF
chmod +x "$root/bin/segan" "$root/scripts/gpu-check.sh"

log "compressing"
XZ_OPT="${XZ_OPT:--6 -T0}" tar -C "$dist" -cJf "$out" dawngrad
bytes=$(stat -c %s "$out")
mib=$((bytes / 1048576))
if [ "$bytes" -gt $((45 * 1048576)) ]; then
  log "$out is $mib MiB: over the 45 MiB budget"
  exit 1
fi
log "wrote $out ($mib MiB); extract with: tar -xJf $(basename "$out")"
