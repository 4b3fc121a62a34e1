#!/bin/sh
# Install what convoy needs on Debian 12 and build it into ./build.
# Idempotent: re-running only rebuilds what changed.
set -eu
cd "$(dirname "$0")/.."

PKGS="meson ninja-build pkg-config gcc clang libglib2.0-dev libyaml-dev
      libxml2-dev libarchive-dev zlib1g-dev libzstd-dev libsqlite3-dev libxxhash-dev libssl-dev
      libnbd-dev libcurl4-openssl-dev libvirt-dev qemu-utils libvirt-clients
      chromium
      libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 dnsmasq-base
      e2fsprogs fdisk python3 zstd gzip perl openssl binutils
      libguestfs-dev libguestfs-tools linux-image-amd64 debootstrap
      busybox-static cryptsetup-bin sqlite3 python3-yaml postgresql libpq-dev
      zsh cpio lz4 virt-v2v nbdkit"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "setup: installing:$missing"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build
