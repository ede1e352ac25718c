#!/bin/bash
# run_in_vm.sh - build sentry.ko for one Debian kernel, boot that kernel once under qemu,
# load the module and run the in-guest pytest batch (tests/kmod); then fail if the
# kernel log shows a WARN/BUG/oops/KASAN/lockdep/RCU-stall report. Exit status: pytest's,
# or 1 for such a report.
#
# usage: tests/kmod/run_in_vm.sh [pytest args...]   (default: tests/kmod)
# env:   KVER (default: the kernel linux-image-amd64 depends on; e.g. 5.10.0-32-amd64,
#        6.12.117+deb12-amd64: needs /boot/vmlinuz-KVER and /usr/src/linux-headers-KVER),
#        VM_TIMEOUT (s, default 2100), VM_RESULTS (dir for output.log, serial.log,
#        junit.xml, dmesg.txt; default ~/.cache/sentry-vmtest/results)
# The module is built from a copy of driver/ per kernel ($WORK/build/KVER), so runs for
# different kernels do not rebuild each other's objects in the tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest}
KVER=${KVER:-$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed 's/^linux-image-\([^ ,]*\).*/\1/')}
HEADERS=/usr/src/linux-headers-$KVER
[ -d "$HEADERS" ] || { echo "run_in_vm: missing $HEADERS (apt-get install linux-headers-$KVER)" >&2; exit 2; }
[ -r "/boot/vmlinuz-$KVER" ] || { echo "run_in_vm: missing /boot/vmlinuz-$KVER (apt-get install linux-image-$KVER)" >&2; exit 2; }
BUILD=$WORK/build/$KVER
mkdir -p "$BUILD"
# Sources only (no objects of another kernel); Kbuild then rebuilds what changed.
tar -C "$ROOT/driver" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod*' \
	--exclude=bpf --exclude=Module.symvers --exclude=modules.order -cf - . | tar -C "$BUILD" -xf -
make -s -C "$BUILD" KERNELDIR="$HEADERS" modules
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
# What the kernel prints when something went wrong (WARN_ON, BUG_ON and oopses,
# KASAN/UBSAN/KFENCE, lockdep, RCU stalls, lockups, hung tasks, any stack trace) is
# looked for in the guest's dmesg after the tests by scripts/kernel-log-check.sh.
CHECK=$(printf '%q' "$GUEST_ROOT/scripts/kernel-log-check.sh")
RESULTS=${VM_RESULTS:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest/results}
rm -rf "$RESULTS"
ARGS=$(printf '%q ' "$@")
exec "$ROOT/scripts/vm-test.sh" -k "$KVER" -t "${VM_TIMEOUT:-2100}" -c 2 -m 1024 -o "$RESULTS" -- "
cd $(printf '%q' "$GUEST_ROOT")
$GUEST_ENV
export PATH=$(printf '%q' "$(dirname "$PY")"):\$PATH
export SENTRY_KO=$(printf '%q' "$BUILD/sentry.ko")
export SENTRY_TEST_DRIVERS=$(printf '%q' "$DRIVERS")
ip link set lo up 2>/dev/null || busybox ip link set lo up
dmesg -C
insmod \$SENTRY_KO
echo \"VMTEST: module loaded: \$(ls /dev/sentry*)\"
echo \"VMTEST: kernel \$(uname -r)\"
rc=0
$(printf '%q' "$PY") -m pytest -p no:cacheprovider -q -rs --junitxml=\$VMTEST_SHARE/junit.xml $ARGS || rc=\$?
dmesg > \$VMTEST_SHARE/dmesg.txt
krc=0
bash $CHECK \$VMTEST_SHARE/dmesg.txt || krc=\$?
if [ \$krc = 0 ]; then
	echo \"VMTEST: dmesg clean (\$(wc -l < \$VMTEST_SHARE/dmesg.txt) lines since the module load)\"
else
	echo 'VMTEST: FAIL: the kernel log has the report(s) above (full log: dmesg.txt)'
	[ \$rc != 0 ] || rc=1
fi
exit \$rc
"
