#!/bin/bash
# run_in_vm.sh - build sentry.ko, boot the Debian kernel once under qemu, load the module
# and run the in-guest pytest batch (tests/kmod); exit with its status.
#
# usage: tests/kmod/run_in_vm.sh [pytest args...]   (default: tests/kmod)
# env:   KVER (default: the kernel linux-image-amd64 depends on), VM_TIMEOUT (s, default
#        1200), VM_RESULTS (dir for output.log, serial.log, junit.xml; default
#        ~/.cache/sentry-vmtest/results)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest}
KVER=${KVER:-$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed 's/^linux-image-\([^ ,]*\).*/\1/')}
HEADERS=/usr/src/linux-headers-$KVER
[ -d "$HEADERS" ] || { echo "run_in_vm: missing $HEADERS (apt-get install linux-headers-amd64)" >&2; exit 2; }
make -s -C "$ROOT/driver" KERNELDIR="$HEADERS" modules
# tests/kmod/test_loader.py downloads from a signed drivers repository built here (a build
# under TCG takes minutes; the one build it must do in the guest, it does there).
DRIVERS=$WORK/drivers
rm -rf "$DRIVERS" && mkdir -p "$DRIVERS"
ssh-keygen -q -t ed25519 -N '' -f "$DRIVERS/key" >/dev/null
SENTRY_DRIVERS_SIGNKEY=$DRIVERS/key "$ROOT/scripts/build-drivers.sh" -o "$DRIVERS/repo" \
	"linux-headers-$KVER" >"$DRIVERS/build.log" 2>&1 || { cat "$DRIVERS/build.log" >&2; exit 1; }
# The guest hides the host's /tmp: a checkout there is staged where the guest can see it,
# and PYTHONPATH points the guest's Python at the staged package.
GUEST_ROOT=$ROOT
GUEST_ENV=""
case $ROOT in /tmp/*)
	GUEST_ROOT=$WORK/repo
	rm -rf "$GUEST_ROOT" && mkdir -p "$GUEST_ROOT"
	tar -C "$ROOT" --exclude=.git -cf - . | tar -C "$GUEST_ROOT" -xf -
	GUEST_ENV="export PYTHONPATH=$(printf '%q' "$GUEST_ROOT/python")"
	;;
esac
has_path=0
for a in "$@"; do case $a in -*) ;; *) has_path=1 ;; esac; done
[ $has_path = 1 ] || set -- "$@" tests/kmod
# The guest runs the host's own interpreter (where sentry and pytest are installed).
PY=$(python3 -c 'import sys; print(sys.executable)')
RESULTS=${VM_RESULTS:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest/results}
rm -rf "$RESULTS"
ARGS=$(printf '%q ' "$@")
exec "$ROOT/scripts/vm-test.sh" -k "$KVER" -t "${VM_TIMEOUT:-1200}" -c 2 -m 1024 -o "$RESULTS" -- "
cd $(printf '%q' "$GUEST_ROOT")
$GUEST_ENV
export PATH=$(printf '%q' "$(dirname "$PY")"):\$PATH
export SENTRY_KO=$(printf '%q' "$GUEST_ROOT")/driver/sentry.ko
export SENTRY_TEST_DRIVERS=$(printf '%q' "$DRIVERS")
ip link set lo up 2>/dev/null || busybox ip link set lo up
dmesg -C
insmod \$SENTRY_KO
echo \"VMTEST: module loaded: \$(ls /dev/sentry*)\"
$(printf '%q' "$PY") -m pytest -p no:cacheprovider -q -rs --junitxml=\$VMTEST_SHARE/junit.xml $ARGS
"
