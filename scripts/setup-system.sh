#!/usr/bin/env bash
# Install the distribution packages armcheck drives when they are missing:
# qemu-system-aarch64, its edk2 firmware, U-Boot for qemu, and the tools the guest build uses.
set -euo pipefail
packages=(qemu-system-arm qemu-efi-aarch64 u-boot-qemu qemu-utils cpio)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "setup-system: missing ${missing[*]}; install them with your distribution's package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup-system: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
