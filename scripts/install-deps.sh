#!/usr/bin/env bash
# Installs what distmf needs to build, test and run its demo, from Debian 12's packages.
# Idempotent: packages already present are left as they are. Runs apt-get as root, or
# through sudo when started by another user.
set -euo pipefail
packages=(
    build-essential cmake pkg-config
    openmpi-bin libopenmpi-dev
    libhdf5-openmpi-dev hdf5-tools
    libeigen3-dev libboost-program-options-dev catch2
    clang-format
    python3 python3-h5py python3-numpy python3-matplotlib
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: every package is already installed"
    exit 0
fi
run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "install-deps: installing ${missing[*]}"
run_as_root apt-get update -qq
run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
