#!/usr/bin/env bash
# test.sh - the whole test suite: lint and types, the host tests (unit, conformance
# against real sysdig, live eBPF as root), then the kernel-module suite and the eBPF suite
# inside qemu (Debian's kernel).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> ruff"; ruff check python tests bench
echo "==> mypy"; mypy
# A runtime that fails to start is said here; its tests then skip, or fail under CI.
echo "==> container runtimes"; scripts/runtimes.sh start || echo "warning: container runtimes not all started" >&2
echo "==> pytest (host)"
python3 -m pytest -q tests --ignore=tests/kmod
if [ -x tests/kmod/run_in_vm.sh ]; then
	echo "==> kernel module suite in qemu"
	tests/kmod/run_in_vm.sh
	# Debian 12's 6.1 has no bpf_rdonly_cast: the probe's probe-read path on a real kernel.
	echo "==> eBPF suite in qemu (Debian's kernel)"
	VM_RESULTS="${XDG_CACHE_HOME:-$HOME/.cache}/sentry-vmtest/results-ebpf" \
		tests/kmod/run_in_vm.sh tests/ebpf
fi
