#!/usr/bin/env bash
# Installs the system packages ChittyCharge builds against (and luacheck, which
# `chittycharge policy lint` runs), when they are missing.
# Debian/Ubuntu, as root (or with sudo available). Safe to run again.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists lua5.4 2>/dev/null; then missing+=(liblua5.4-dev); fi
# `chittycharge policy lint` runs Debian's luacheck.
command -v luacheck >/dev/null 2>&1 || missing+=(lua-check)
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH: install Swift 6 (https://swift.org/install)" >&2; exit 1; }

if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
