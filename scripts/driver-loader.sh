#!/usr/bin/env bash
# driver-loader.sh - find, download or build the Sentry kernel module for the running
# kernel and load it; when no module can run, say why and whether the eBPF probe can.
# Also the entrypoint of the loader init container in the Kubernetes DaemonSet.
#
# usage: driver-loader.sh [--kernel-release KVER] [--no-load] [--unload] [--ebpf-check]
# env:   SENTRY_DRIVER_DIR   where built/downloaded modules are kept (/var/lib/sentry/driver)
#        SENTRY_DRIVER_URL   base URL of prebuilt modules: $URL/sentry-$VERSION-$KVER.ko
#        SENTRY_SRC_DIR      driver sources (default: this repository's driver/)
#        HOST_ROOT           host filesystem mount in a container (default /)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
HOST_ROOT=${HOST_ROOT:-/}
KVER=$(uname -r)
LOAD=1
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$here/../pyproject.toml" 2>/dev/null || echo 0.1.0)
DRIVER_DIR=${SENTRY_DRIVER_DIR:-/var/lib/sentry/driver}
SRC_DIR=${SENTRY_SRC_DIR:-$here/../driver}

say() { printf '[driver-loader] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel-release) KVER=$2; shift ;;
	--no-load) LOAD=0 ;;
	--unload)
		if grep -q '^sentry ' /proc/modules 2>/dev/null; then
			rmmod sentry && say "unloaded"
		else
			say "not loaded"
		fi
		exit 0 ;;
	--ebpf-check)
		if [ -r /sys/kernel/btf/vmlinux ]; then
			say "eBPF: BTF present, the CO-RE probe can run (sentry run --driver ebpf)"
			exit 0
		fi
		die "eBPF: /sys/kernel/btf/vmlinux missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF)" ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

KO=$DRIVER_DIR/sentry-$VERSION-$KVER.ko
mkdir -p "$DRIVER_DIR"

modules_supported() {
	[ -e /proc/modules ] || return 1
	[ -e "$HOST_ROOT/lib/modules/$KVER" ] || [ -e "/sys/module" ]
}

find_cached() {
	[ -s "$KO" ] && { say "found cached module $KO"; return 0; }
	return 1
}

download() {
	[ -n "${SENTRY_DRIVER_URL:-}" ] || return 1
	command -v curl >/dev/null || { say "curl missing: cannot download"; return 1; }
	local url=$SENTRY_DRIVER_URL/sentry-$VERSION-$KVER.ko
	say "downloading $url"
	if curl -fL --progress-bar -o "$KO.part" "$url"; then
		mv "$KO.part" "$KO"
		return 0
	fi
	rm -f "$KO.part"
	say "no prebuilt module for $KVER at $SENTRY_DRIVER_URL"
	return 1
}

build() {
	local kdir=$HOST_ROOT/lib/modules/$KVER/build
	[ -d "$kdir" ] || kdir=/usr/src/linux-headers-$KVER
	if [ ! -d "$kdir" ]; then
		say "no kernel headers for $KVER (install linux-headers-$KVER)"
		return 1
	fi
	[ -f "$SRC_DIR/Makefile" ] || { say "driver sources not found at $SRC_DIR"; return 1; }
	local out
	out=$(mktemp -d)
	cp -r "$SRC_DIR/." "$out/"
	say "building against $kdir (a few seconds)"
	if ! make -C "$out" KERNELDIR="$kdir" >"$out/build.log" 2>&1; then
		tail -n 20 "$out/build.log" >&2
		say "build failed; full log in $out/build.log"
		return 1
	fi
	cp "$out/sentry.ko" "$KO"
	rm -rf "$out"
	say "built $KO"
}

load() {
	if grep -q '^sentry ' /proc/modules 2>/dev/null; then
		say "module already loaded"
		return 0
	fi
	insmod "$KO" || die "insmod $KO failed (see dmesg); Secure Boot or lockdown may forbid unsigned modules: use the eBPF probe (sentry run --driver ebpf)"
	say "loaded; devices: $(ls /dev/sentry* 2>/dev/null | tr '\n' ' ')"
}

if ! modules_supported; then
	say "this kernel cannot load modules (no /proc/modules: CONFIG_MODULES=n)"
	exec "$0" --ebpf-check
fi
find_cached || download || build || die "no module for kernel $KVER: set SENTRY_DRIVER_URL, install headers, or use the eBPF probe (sentry run --driver ebpf)"
if [ "$LOAD" = 1 ]; then
	load
fi
