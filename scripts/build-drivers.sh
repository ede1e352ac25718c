#!/usr/bin/env bash
# build-drivers.sh - build sentry.ko for a list of Debian kernel header packages into a
# drivers repository folder, in the layout scripts/driver-loader.sh downloads from:
#   OUT/<driver version>/<arch>/sentry_<target>_<kernel release>_<kernel version>.ko
# with OUT/.../<name>.ko.sha256 beside each module (and <name>.ko.sig, an ssh-keygen -Y
# signature, when SENTRY_DRIVERS_SIGNKEY names a private key). Serve OUT over HTTP and point
# SENTRY_DRIVERS_REPO at it.
#
# usage: build-drivers.sh -o OUT [-t TARGET] [-v KERNEL_VERSION] [-i] PACKAGE...
#   PACKAGE  linux-headers-<kernel release> (e.g. linux-headers-6.1.0-57-amd64); its headers
#            must be installed in /usr/src (-i: apt-get install the missing ones)
#   -t       target id (default debian)    -v  the number in the kernel's uname -v (default 1,
#            as Debian's kernels have)
# env: SENTRY_SRC_DIR (driver sources, default this checkout's driver/), SENTRY_DRIVERS_SIGNKEY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT="" TARGET=debian KVERSION=1 INSTALL=0
while getopts "o:t:v:ih" o; do
	case $o in
	o) OUT=$OPTARG ;; t) TARGET=$OPTARG ;; v) KVERSION=$OPTARG ;; i) INSTALL=1 ;;
	*) awk 'NR > 1 && /^set -euo/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$OUT" ] && [ $# -gt 0 ] || { echo "build-drivers: usage: build-drivers.sh -o OUT PACKAGE... (see -h)" >&2; exit 2; }
SRC_DIR=${SENTRY_SRC_DIR:-$here/../driver}
DRIVER_VERSION=$(SENTRY_SRC_DIR=$SRC_DIR "$here/driver-loader.sh" --print-driver-version)
ARCH=$(uname -m)
DEST=$OUT/$DRIVER_VERSION/$ARCH
mkdir -p "$DEST"
status=0
for pkg in "$@"; do
	krel=${pkg#linux-headers-}
	kdir=/usr/src/linux-headers-$krel
	if [ ! -f "$kdir/Makefile" ] && [ "$INSTALL" = 1 ]; then
		echo "* Installing $pkg"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg"
	fi
	if [ ! -f "$kdir/Makefile" ]; then
		echo "* Error: $kdir missing: apt-get install $pkg (or pass -i)" >&2
		status=1
		continue
	fi
	name=sentry_${TARGET}_${krel}_${KVERSION}.ko
	echo "* Building $name against $kdir"
	work=$(mktemp -d)
	cp -r "$SRC_DIR/." "$work/"
	rm -f "$work"/*.o "$work"/*.ko "$work"/.*.cmd
	if ! make -C "$kdir" M="$work" modules 2>&1 | sed 's/^/  | /'; then
		echo "* Error: the build for $krel failed" >&2
		rm -rf "$work"
		status=1
		continue
	fi
	cp "$work/sentry.ko" "$DEST/$name"
	rm -rf "$work"
	(cd "$DEST" && sha256sum "$name" >"$name.sha256")
	if [ -n "${SENTRY_DRIVERS_SIGNKEY:-}" ]; then
		rm -f "$DEST/$name.sig"
		ssh-keygen -q -Y sign -f "$SENTRY_DRIVERS_SIGNKEY" -n sentry-driver "$DEST/$name"
		echo "  signed: $DEST/$name.sig"
	fi
	echo "  $DEST/$name ($(cut -d' ' -f1 "$DEST/$name.sha256"))"
done
exit $status
