#!/usr/bin/env bash
# test.sh - the whole test suite: lint and types, the host tests (unit, conformance
# against real sysdig, live eBPF as root), then the kernel-module suite and the eBPF suite
# inside qemu (Debian's kernel).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> ruff"; ruff check python tests bench; ruff format --check python tests bench
echo "==> mypy"; mypy
# The drivers' wire-format headers are generated from python/sentry/events: stale -> fail.
echo "==> generated headers"; python3 driver/gen_headers.py --check
# A runtime that fails to start is said here; its tests then skip, or fail under CI.
echo "==> container runtimes"; scripts/runtimes.sh start || echo "warning: container runtimes not all started" >&2
# Each suite's time, said again at the end (README "Capture drivers" quotes them).
TIMES=()
t0=$SECONDS
# The host tests in two parts: the unit, conformance and fuzz suites (no live capture) on
# both cores (pytest-xdist, a file's tests on one worker: Falco's conformance configs share
# /tmp/falco_outputs); then, one at a time, everything that captures live or runs services
# (eBPF as root, container runtimes, failure injection, the noise suite, packaging, deploy)
# and the root-marked tests of the first part.
PAR=(tests/unit tests/conformance tests/fuzz)
echo "==> pytest (host, unit/conformance/fuzz on 2 workers)"
python3 -m pytest -q -n 2 --dist loadfile -m "not root" "${PAR[@]}"
echo "==> pytest (host, live and root tests, one at a time)"
python3 -m pytest -q tests --ignore=tests/kmod "${PAR[@]/#/--ignore=}"
python3 -m pytest -q -m root "${PAR[@]}" || [ $? = 5 ]  # 5: none selected
TIMES+=("host pytest: $((SECONDS - t0)) s")
if [ -x tests/kmod/run_in_vm.sh ]; then
	# The kernel matrix (README "Capture drivers"): the module suite on Debian's 5.10, 6.1
	# and 6.12, the eBPF suite on 6.1 (no bpf_rdonly_cast: the probe-read path) and 6.12
	# (5.10 is below the probe's 5.17; the host's kernel ran it above). Each line's newest
	# installed generic kernel with headers (scripts/install.sh installs them); each run
	# also fails on a WARN/BUG/oops report in the guest's dmesg.
	kver_of() {
		for v in $(ls /boot/ | sed -n "s/^vmlinuz-\($1[.-].*-amd64\)$/\1/p" | grep -v -e cloud -e rt | sort -Vr); do
			[ -d "/usr/src/linux-headers-$v" ] && { echo "$v"; return 0; }
		done
		echo "test.sh: no Debian $1 kernel with headers installed (scripts/install.sh)" >&2
		return 1
	}
	VMRES="${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest"
	# The whole matrix every run (SENTRY_KMOD_KERNELS / SENTRY_EBPF_KERNELS choose fewer).
	# The loader's tests (scripts/driver-loader.sh: cache, signed download, refusals,
	# advice; ~35 s) run on every kernel; the one that builds the module inside the guest
	# with DKMS (191 s under TCG on 6.12) on SENTRY_LOADER_BUILD_KERNELS only (default
	# 6.12, the newest): DKMS builds for every kernel of the matrix run natively in
	# tests/packaging/test_dkms.py (~15 s each).
	for line in ${SENTRY_KMOD_KERNELS:-5.10 6.1 6.12}; do
		k=$(kver_of $line)
		echo "==> kernel module suite in qemu on $k"
		t0=$SECONDS
		args=(tests/kmod)
		case " ${SENTRY_LOADER_BUILD_KERNELS:-6.12} " in
		*" $line "*) ;;
		*) args+=(--deselect tests/kmod/test_loader.py::test_d_refuses_tampered_then_builds_and_loads) ;;
		esac
		KVER=$k VM_RESULTS="$VMRES/results-kmod-$line" tests/kmod/run_in_vm.sh "${args[@]}"
		TIMES+=("module suite on $k: $((SECONDS - t0)) s")
		echo "==> ${TIMES[-1]}"
	done
	for line in ${SENTRY_EBPF_KERNELS:-6.1 6.12}; do
		k=$(kver_of $line)
		echo "==> eBPF suite in qemu on $k"
		t0=$SECONDS
		# The live-story tables and the flood attack test rules, not kernels, and the tests
		# marked `userspace` test Sentry's userspace over the probe: they run on the host
		# above (minutes there, far longer under TCG in a 1 GiB guest: the userspace tests
		# were ~40 % of the guest's time).
		KVER=$k VM_RESULTS="$VMRES/results-ebpf-$line" tests/kmod/run_in_vm.sh tests/ebpf \
			--ignore=tests/ebpf/test_live_stories.py --ignore=tests/ebpf/test_flood_attack.py \
			-m "not userspace"
		TIMES+=("eBPF suite on $k: $((SECONDS - t0)) s")
		echo "==> ${TIMES[-1]}"
	done
fi
echo "==> times"
printf '    %s\n' "${TIMES[@]}" "total: $SECONDS s"
