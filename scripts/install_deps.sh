#!/usr/bin/env bash
# Installs what gatrec needs to build and test on Debian/Ubuntu, skipping what is already there.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# libcurl and nlohmann/json are for the optional gatrec::llm target (LLM and embedding servers).
for pkg in cmake g++ make libeigen3-dev libgtest-dev libbenchmark-dev python3 libcurl4-openssl-dev nlohmann-json3-dev; do
  have_pkg "$pkg" || need+=("$pkg")
done
# OpenMP comes with g++ (libgomp); nothing more is needed for it.

if [ ${#need[@]} -gt 0 ]; then
  echo "install_deps: installing ${need[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install_deps: need root or sudo to install ${need[*]}" >&2; exit 1; }
    sudo_cmd="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y --no-install-recommends "${need[@]}"; }
fi
