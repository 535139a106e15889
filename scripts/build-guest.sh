#!/usr/bin/env bash
# Build the small arm64 Linux guest that armcheck boots on its qemu targets.
#
# Output, in ${ARMCHECK_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/armcheck/guest}:
#   vmlinuz          the Debian arm64 kernel (an EFI stub image, so edk2 can start it)
#   initrd.gz        a gzip'd cpio (newc) initramfs: static busybox and an /init that
#                    mounts proc, sys and devtmpfs and starts a root shell on ttyAMA0
#   guest.env        what was built: kernel package and version, busybox version
#
# Only Debian's package registry is contacted. The arm64 package lists are kept in a
# private apt state folder inside the cache, so the host's apt configuration, its
# architectures and its package lists are left alone and no root is needed.
# A second run does nothing when the packages are unchanged; --force rebuilds.
set -euo pipefail

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  -h|--help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    echo "usage: $0 [--force]"
    exit 0 ;;
  *) echo "build-guest: unknown argument $1 (use --force or --help)" >&2; exit 2 ;;
esac

guest_dir="${ARMCHECK_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/armcheck/guest}"
apt_dir="$guest_dir/apt"
work="$guest_dir/work"
READY_LINE="armcheck-guest: ready"

for tool in apt-get apt-cache dpkg-deb cpio gzip; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-guest: $tool not found; on Debian or Ubuntu run scripts/setup-system.sh" >&2
    exit 1
  fi
done

mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work"

apt_options=(
  -q
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=arm64"
  -o "APT::Architectures::=arm64"
)

# Refresh the private arm64 lists at most once a day, so repeated builds stay offline.
stamp="$apt_dir/lists/updated"
if [ "$force" -eq 1 ] || [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
  echo "build-guest: updating the arm64 package lists"
  apt-get "${apt_options[@]}" update >"$work/apt-update.log" 2>&1 || {
    cat "$work/apt-update.log" >&2
    echo "build-guest: apt-get update for arm64 failed (see above)" >&2
    exit 1
  }
  touch "$stamp"
fi

# The kernel package is the one Debian's linux-image-arm64 metapackage depends on.
kernel_package="$(apt-cache "${apt_options[@]}" depends linux-image-arm64 \
  | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-arm64\)\( .*\)\{0,1\}$/\1/p' | head -n 1)"
if [ -z "$kernel_package" ]; then
  echo "build-guest: linux-image-arm64 names no arm64 kernel package in the package lists" >&2
  exit 1
fi
kernel_version="$(apt-cache "${apt_options[@]}" show --no-all-versions "$kernel_package" \
  | sed -n 's/^Version: //p' | head -n 1)"
busybox_version="$(apt-cache "${apt_options[@]}" show --no-all-versions busybox-static \
  | sed -n 's/^Version: //p' | head -n 1)"
wanted="kernel_package=$kernel_package
kernel_version=$kernel_version
busybox_version=$busybox_version
ready_line=$READY_LINE"

if [ "$force" -eq 0 ] && [ -s "$guest_dir/vmlinuz" ] && [ -s "$guest_dir/initrd.gz" ] \
  && [ "$(cat "$guest_dir/guest.env" 2>/dev/null)" = "$wanted" ]; then
  echo "build-guest: up to date in $guest_dir ($kernel_package $kernel_version)"
  exit 0
fi

echo "build-guest: downloading $kernel_package $kernel_version and busybox-static $busybox_version"
rm -rf "$work/debs" "$work/kernel" "$work/busybox" "$work/root"
mkdir -p "$work/debs"
(cd "$work/debs" && apt-get "${apt_options[@]}" download "$kernel_package" busybox-static \
  >"$work/apt-download.log" 2>&1) || {
  cat "$work/apt-download.log" >&2
  echo "build-guest: apt-get download failed (see above)" >&2
  exit 1
}

dpkg-deb -x "$work"/debs/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/debs/busybox-static_*.deb "$work/busybox"
kernel_image="$(find "$work/kernel/boot" -name 'vmlinuz-*' | head -n 1)"
if [ -z "$kernel_image" ]; then
  echo "build-guest: no /boot/vmlinuz-* in $kernel_package" >&2
  exit 1
fi

# The initramfs: busybox with its applets linked in, and the /init below.
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,root,etc}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list 2>/dev/null || true); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# The busybox binary is arm64, so it cannot list its applets on another host: link
# the ones armcheck and a person at the console need by name.
for applet in sh ash cat echo ls mount umount mkdir dmesg poweroff reboot halt stty \
  base64 hexdump od uname grep sed head tail wc cut tr sleep ps kill sync printf \
  test true false env id hostname date cp mv rm ln find xargs dd md5sum sha256sum \
  setsid cttyhack free df awk vi less more; do
  ln -sf busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

cat >"$root/init" <<EOF
#!/bin/sh
# armcheck guest init: mount the kernel file systems, say so, give a root shell.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo
echo "$READY_LINE (\$(uname -r))"
# Respawn the shell: an exit does not end the guest, poweroff -f does.
while true; do
  setsid cttyhack sh -l
done
EOF
chmod 755 "$root/init"
echo 'PS1="# "' >"$root/etc/profile"

(cd "$root" && find . -print0 | LC_ALL=C sort -z \
  | cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -9 >"$work/initrd.gz"

cp "$kernel_image" "$guest_dir/vmlinuz.new"
mv "$guest_dir/vmlinuz.new" "$guest_dir/vmlinuz"
mv "$work/initrd.gz" "$guest_dir/initrd.gz"
printf '%s\n' "$wanted" >"$guest_dir/guest.env"
rm -rf "$work/debs" "$work/kernel" "$work/busybox" "$work/root"
echo "build-guest: built $guest_dir/vmlinuz and $guest_dir/initrd.gz ($kernel_package $kernel_version)"
