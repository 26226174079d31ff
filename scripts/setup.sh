#!/usr/bin/env bash
# Idempotent machine setup for dawngrad.
#  1. npm dependencies (skipped when node_modules is up to date with package-lock.json).
#  2. With --browser (the test run): Debian's chromium for the real-browser tests (test/browser.test.ts),
#     where WebGPU runs on SwiftShader. As root this runs apt-get; otherwise it prints the command.
#  3. A WebGPU adapter: when Dawn cannot create one, install the Vulkan loader and Mesa's lavapipe
#     from bookworm-backports (Mesa 25; bookworm's own 22.3 is rejected by Dawn). As root this runs
#     apt-get; otherwise it prints the exact commands to run.
# Quick when everything is in place: two stat calls and one adapter probe.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true

log() { printf '[setup] %s\n' "$*" >&2; }

# ---- 1. npm dependencies ---------------------------------------------------------------------
stamp=node_modules/.dawngrad-setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "installing npm dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  touch "$stamp"
fi

# ---- 2. Chromium for the browser tests (only with --browser) ------------------------------------
if [ "${1:-}" = "--browser" ] && [ ! -x "${PUPPETEER_EXECUTABLE_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "the browser tests need Debian's chromium, and this is not root, so nothing was installed."
    log "Run: sudo apt-get install -y chromium   (or point PUPPETEER_EXECUTABLE_PATH at a Chromium)"
    exit 1
  fi
  log "installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >&2 || { apt-get update -qq >&2 && apt-get install -y -qq chromium >&2; }
fi

# ---- 3. WebGPU adapter -----------------------------------------------------------------------
probe() { node scripts/probe-adapter.mjs >/dev/null 2>&1; }
if probe; then exit 0; fi

backports_entry() {
  # Copy this machine's own Debian entry (same URI, same key), changing only the suite.
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    awk 'BEGIN{RS="";ORS="\n\n"} /Suites:[^\n]*bookworm( |$|\n)/ && $0 !~ /security/ {
           sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit }' "$src"
  elif [ -f /etc/apt/sources.list ]; then
    grep -E '^deb .* bookworm( |$).*main' /etc/apt/sources.list | grep -v security | head -1 \
      | sed -E 's/ bookworm( |$)/ bookworm-backports\1/'
  fi
}

pkgs="libvulkan1 mesa-vulkan-drivers"
if [ "$(id -u)" != 0 ]; then
  log "no WebGPU adapter could be created, and this is not root, so nothing was installed."
  log "Run it as root (sudo bash scripts/setup.sh), or by hand (Debian bookworm; the same lines as"
  log "BACKPORTS_BY_HAND in src/device/gpu.ts, run by test/setup.test.ts):"
  log "  perl -00 -ne 'print, exit if /^Suites:(.*\\s)?bookworm(\\s|\$)/m && !/security/' /etc/apt/sources.list.d/debian.sources \\"
  log "    | sed 's/^Suites:.*/Suites: bookworm-backports/' | sudo tee /etc/apt/sources.list.d/backports.sources"
  log "  sudo apt-get update && sudo apt-get install -y -t bookworm-backports $pkgs"
  exit 1
fi

entry=$(backports_entry || true)
if [ -z "$entry" ]; then
  log "could not find this machine's Debian bookworm source entry to derive bookworm-backports from."
  log "Add bookworm-backports to apt by hand, then: apt-get install -y -t bookworm-backports $pkgs"
  exit 1
fi
target=/etc/apt/sources.list.d/dawngrad-backports.sources
case "$entry" in deb\ *) target=/etc/apt/sources.list.d/dawngrad-backports.list ;; esac
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding bookworm-backports ($target)"
  printf '%s\n' "$entry" > "$target"
fi
log "installing the Vulkan loader and Mesa lavapipe from bookworm-backports"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq -t bookworm-backports $pkgs >&2
if ! probe; then
  log "still no WebGPU adapter after installing $pkgs. Output of the probe:"
  node scripts/probe-adapter.mjs >&2 || true
  exit 1
fi
log "WebGPU adapter ready"
